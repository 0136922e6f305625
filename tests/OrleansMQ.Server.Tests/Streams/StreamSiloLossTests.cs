using Orleans.Runtime;
using OrleansMQ.Tests.Cluster;
using Xunit.Abstractions;

namespace OrleansMQ.Tests.Streams;

/// <summary>Resume after silo loss: the pulling agents move to the surviving silos and continue from the committed position.</summary>
public sealed class StreamSiloLossTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_a_silo_while_producing_and_consuming_loses_no_acknowledged_event()
    {
        const int streams = 8;
        const int perStream = 150;
        await using var cluster = await StreamCluster.StartAsync(silos: 3);
        var provider = cluster.Orleans.GetStreamProvider(StreamCluster.Provider);
        var keys = Enumerable.Range(0, streams).Select(_ => TestNames.Unique("loss")).ToArray();
        var acknowledged = keys.ToDictionary(k => k, _ => new List<int>());
        var victim = cluster.Cluster.Silos[2];
        var half = new TaskCompletionSource();
        var produced = 0;

        // Each stream publishes from the client one event at a time; a publish that fails while the silo goes away
        // is retried (so it may be stored twice: at-least-once), and only acknowledged publishes are expected.
        var producers = keys.Select(async key =>
        {
            var stream = provider.GetStream<int>(StreamId.Create(ImplicitStreamConsumerGrain.Namespace, key));
            for (var i = 0; i < perStream; i++)
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
                while (true)
                {
                    try
                    {
                        await stream.OnNextAsync(i);
                        break;
                    }
                    catch (Exception ex) when (DateTime.UtcNow < deadline)
                    {
                        output.WriteLine($"publish {key}#{i} failed, retrying: {ex.GetType().Name}");
                        await Task.Delay(200);
                    }
                }

                lock (acknowledged)
                {
                    acknowledged[key].Add(i);
                }

                if (Interlocked.Increment(ref produced) == streams * perStream / 2)
                {
                    half.TrySetResult();
                }
            }
        }).ToList();

        await half.Task.WaitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine($"killing silo {victim.SiloAddress} after {Volatile.Read(ref produced)} events");
        await cluster.Cluster.KillSiloAsync(victim);
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(300));

        try
        {
            await Eventually.ReturnsAsync(
                () => Task.FromResult(keys.All(k => acknowledged[k].All(v => StreamProbe.Of($"implicit/{k}").Any(x => x.Value == v)))),
                ok => ok,
                TimeSpan.FromSeconds(180),
                "every acknowledged event delivered");
        }
        catch (Xunit.Sdk.XunitException)
        {
            foreach (var s in await cluster.Client.Admin.GetSubscriptionStatsAsync(cluster.Topic, "orleans-streams"))
            {
                output.WriteLine($"partition {s.Partition}: ack floor {s.AckFloor}, read {s.ReadPosition}, high {s.HighWatermark}, in flight {s.InFlight}, consumers {s.Consumers}");
            }
        }

        var lost = 0;
        var duplicates = 0;
        foreach (var key in keys)
        {
            var expected = acknowledged[key];
            var received = StreamProbe.Of($"implicit/{key}");
            var missing = expected.Where(v => received.All(x => x.Value != v)).ToList();
            lost += missing.Count;
            duplicates += received.Count - received.Select(x => x.Value).Distinct().Count();
            output.WriteLine($"{key}: {received.Count} received, {missing.Count} missing{(missing.Count > 0 ? $" ({string.Join(",", missing.Take(10))}…)" : "")}, last offset {(received.Count > 0 ? received[^1].Offset : -1)}");

            // Per stream, the first delivery of each event comes in publish order.
            var firstSeen = received.Select(x => x.Value).Distinct().ToList();
            Assert.Equal(firstSeen.Order(), firstSeen);
        }

        if (lost > 0)
        {
            foreach (var line in StreamLogCapture.Lines)
            {
                output.WriteLine(line);
            }
        }

        output.WriteLine($"{streams * perStream} events over {streams} streams, silo killed mid-run: {lost} lost, {duplicates} duplicates");
        Assert.Equal(0, lost);
    }
}
