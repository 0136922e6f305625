using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Tests.Cluster;

/// <summary>Stops a whole two-silo cluster and starts a new one on the same data directory (file log + file state).</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Restarting_the_cluster_keeps_messages_cursors_and_delivery_counts()
    {
        var data = Path.Combine(Path.GetTempPath(), "omq-tests", Guid.NewGuid().ToString("N"));
        var subscriberKey = Guid.NewGuid().ToString("N");
        static void FileBacked(OrleansMQServerOptions o)
        {
            o.LogStorage = LogStorageKind.File;
            o.StateStorage = LogStorageKind.File;
        }

        try
        {
            await using (var before = await BrokerCluster.StartAsync(dataDirectory: data, configure: FileBacked))
            {
                var mq = before.Client;
                await mq.Admin.CreateTopicAsync("restart", new TopicSpec { Partitions = 2 });
                await mq.Admin.CreateSubscriptionAsync("restart", "shared", new SubscriptionSpec { Start = StartPosition.Earliest });
                await mq.Admin.CreateSubscriptionAsync("restart", "stream", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
                await using (var producer = mq.CreateProducer("restart"))
                {
                    await producer.PublishBatchAsync(Enumerable.Range(0, 50).Select(i => Message.FromText($"m{i}", key: $"k{i % 5}")));
                }

                await using (var shared = mq.CreateConsumer("restart", "shared", new ConsumerOptions { Prefetch = 25 }))
                {
                    await using var e = shared.ConsumeAsync().GetAsyncEnumerator();
                    await Eventually.TakeAsync(e, 20, ack: true);
                }

                await using (var stream = mq.CreateConsumer("restart", "stream"))
                {
                    await using var e = stream.ConsumeAsync().GetAsyncEnumerator();
                    var got = await Eventually.TakeAsync(e, 50);
                    foreach (var partition in got.GroupBy(d => d.Partition))
                    {
                        await partition.Take(3).Last().AckAsync(); // commit the first 3 of each partition
                    }
                }

                var stats = await mq.Admin.GetSubscriptionStatsAsync("restart", "shared");
                Assert.Equal(30, stats.Sum(s => s.Backlog));

                // A delayed message, due an hour after it was published.
                await mq.Admin.CreateQueueAsync("delayed");
                await mq.PublishAsync("delayed", Message.FromText("in an hour").WithDelay(TimeSpan.FromHours(1)));

                // A subscriber grain that is down while messages arrive: they wait in the backlog.
                await mq.Admin.CreateTopicAsync("pushed");
                await mq.Admin.CreateSubscriptionAsync("pushed", "s", new SubscriptionSpec { Start = StartPosition.Earliest, MaxDeliveries = 0 });
                RecordingSubscriberGrain.Reject[subscriberKey] = true;
                await mq.Admin.SetSubscriberAsync("pushed", "s", before.Grains.GetGrain<IRecordingSubscriberGrain>(subscriberKey));
                await mq.PublishAsync("pushed", Message.FromText("waiting for the subscriber"));
                await Eventually.ReturnsAsync(() => mq.Admin.GetSubscriptionStatsAsync("pushed", "s"), s => s[0].Consumers == 1 && s[0].ReadPosition == 1);
            }

            RecordingSubscriberGrain.Reject[subscriberKey] = false;

            await using var after = await BrokerCluster.StartAsync(dataDirectory: data, configure: FileBacked);
            var mq2 = after.Client;
            var partitions = await mq2.Admin.GetPartitionsAsync("restart");
            Assert.Equal(50, partitions.Sum(p => p.HighWatermark));
            var sharedStats = await mq2.Admin.GetSubscriptionStatsAsync("restart", "shared");
            Assert.Equal(30, sharedStats.Sum(s => s.Backlog));
            var streamStats = await mq2.Admin.GetSubscriptionStatsAsync("restart", "stream");
            Assert.Equal([3L, 3L], streamStats.Select(s => s.AckFloor));

            await using (var shared = mq2.CreateConsumer("restart", "shared"))
            {
                await using var e = shared.ConsumeAsync().GetAsyncEnumerator();
                var rest = await Eventually.TakeAsync(e, 30, ack: true);
                Assert.Equal(30, rest.Select(d => d.BodyAsString()).Distinct().Count());
            }

            await using (var stream = mq2.CreateConsumer("restart", "stream"))
            {
                await using var e = stream.ConsumeAsync().GetAsyncEnumerator();
                var rest = await Eventually.TakeAsync(e, 44, ack: true);
                Assert.All(rest, d => Assert.True(d.Offset >= 3));
                Assert.All(rest, d => Assert.True(d.Redelivered, "delivery counts survive the restart"));
            }

            // The delayed message survived the restart and still waits for its time.
            var delayed = after.Grains.GetGrain<OrleansMQ.Grains.ISubscriptionGrain>(GrainKeys.Subscription("delayed", 0, IOrleansMQAdmin.QueueSubscription));
            Assert.Empty((await delayed.ReceiveAsync("c", 10, TimeSpan.FromMilliseconds(300))).Messages);
            after.Time.Advance(TimeSpan.FromHours(1));
            var due = await delayed.ReceiveAsync("c", 10, TimeSpan.FromSeconds(5));
            Assert.Equal("in an hour", Assert.Single(due.Messages).Message.BodyAsString());

            // The push loop resumes when the silos start, with no new publish to wake it.
            var pushed = await Eventually.ReturnsAsync(() => Task.FromResult(RecordingSubscriberGrain.Received.GetOrAdd(subscriberKey, _ => new())), q => !q.IsEmpty);
            Assert.Equal("waiting for the subscriber", pushed.First().Body);
            Assert.Contains("pushed", await mq2.Admin.ListTopicsAsync());

            // And the restarted broker keeps taking new messages after the old ones.
            var receipt = await mq2.PublishAsync("restart", Message.FromText("after restart", key: "k0"));
            Assert.Equal(partitions[receipt.Partition].HighWatermark, receipt.Offset);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
