using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// A fan-out encodes its shared message once for the file log and every copy reuses the bytes: each queue must still
/// hold exactly its own copy, and read it back from disk after a restart.
/// </summary>
public sealed class FanOutStorageTests
{
    [Fact]
    public async Task Every_copy_of_a_fan_out_reads_back_intact_from_disk_after_a_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), "omq-tests", Guid.NewGuid().ToString("N"));
        static void FileBacked(OrleansMQServerOptions o)
        {
            o.LogStorage = LogStorageKind.File;
            o.StateStorage = LogStorageKind.File;
        }

        // Keys, ids, headers (none, ASCII, multi-byte, long), content types and bodies of several sizes; and a
        // binding with a transform, whose copy is a different message and must not get the shared encoding.
        var sent = Enumerable.Range(0, 40).Select(i => new Message(Enumerable.Range(0, i * 37).Select(b => (byte)(b + i)).ToArray())
        {
            Key = i % 3 == 0 ? null : $"key-{i}",
            MessageId = i % 4 == 0 ? null : $"id-{i}-{new string('\u20AC', i)}",
            ContentType = i % 2 == 0 ? "application/octet-stream" : null,
            Headers = i % 5 == 0 ? null : new Dictionary<string, string> { ["n"] = i.ToString(), ["long"] = new string('h', 40 + i), ["ü"] = "ß" },
        }).ToList();
        string[] queues = ["fan-a", "fan-b", "fan-c", "fan-tx"];
        try
        {
            await using (var before = await BrokerCluster.StartAsync(silos: 1, dataDirectory: data, configure: FileBacked))
            {
                var admin = before.Client.Admin;
                foreach (var q in queues)
                {
                    await admin.CreateQueueAsync(q);
                }

                await admin.CreateExchangeAsync("fan", new ExchangeSpec { Type = ExchangeType.Fanout });
                foreach (var q in queues[..3])
                {
                    await admin.BindAsync("fan", new Binding { Destination = q });
                }

                await admin.BindAsync("fan", new Binding { Destination = "fan-tx", Transforms = [TransformStep.SetHeader("tx", "yes")] });
                await using var producer = before.Client.CreateExchangeProducer("fan");
                var receipts = await Task.WhenAll(sent.Select(m => producer.PublishAsync("orders.eu.created", m).AsTask()));
                Assert.All(receipts, r => Assert.Equal(4, r.Deliveries.Count));
            }

            // The three unchanged copies are references into the silo's fan-out store; the transformed one is in full.
            long Bytes(params string[] path) => Directory.GetFiles(Path.Combine([data, "log", .. path]), "*.log").Sum(f => new FileInfo(f).Length);
            var stored = Bytes("fanout", "0");
            Assert.True(stored > 0, "nothing in the fan-out store");
            Assert.Equal((long)sent.Count * OrleansMQ.Server.Storage.LogRecordCodec.ReferenceFrameSize, Bytes("topics", "fan-a", "0"));
            Assert.True(Bytes("topics", "fan-tx", "0") > stored, $"the transformed copy is stored in full: {Bytes("topics", "fan-tx", "0")} vs {stored} in the store, {Bytes("topics", "fan-b", "0")}");

            await using var after = await BrokerCluster.StartAsync(silos: 1, dataDirectory: data, configure: FileBacked);
            foreach (var q in queues)
            {
                await using var consumer = after.Client.CreateConsumer(q, IOrleansMQAdmin.QueueSubscription, new ConsumerOptions { Prefetch = 100 });
                await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
                var got = (await Eventually.TakeAsync(e, sent.Count, ack: true)).OrderBy(d => d.Offset).ToList();
                for (var i = 0; i < sent.Count; i++)
                {
                    var (expected, actual) = (sent[i], got[i].Message);
                    Assert.Equal(expected.Key, actual.Key);
                    Assert.Equal(expected.MessageId, actual.MessageId);
                    Assert.Equal(expected.ContentType, actual.ContentType);
                    Assert.Equal(expected.Body.ToArray(), actual.Body.ToArray());
                    var headers = new Dictionary<string, string>(expected.Headers ?? new Dictionary<string, string>())
                    {
                        [Headers.Exchange] = "fan",
                        [Headers.RoutingKey] = "orders.eu.created",
                    };
                    if (q == "fan-tx")
                    {
                        headers["tx"] = "yes";
                    }

                    Assert.Equal(headers.OrderBy(h => h.Key), actual.Headers.OrderBy(h => h.Key));
                }
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
