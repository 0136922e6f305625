using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// Many more delayed messages than <see cref="OrleansMQServerOptions.MaxScheduledInMemory"/>: the subscription holds at
/// most that many in memory, reads the rest again from the log, and still delivers every one exactly when it is due,
/// across a restart.
/// </summary>
public sealed class ScheduledMemoryTests
{
    private const int Bound = 16;
    private const int Delayed = 200;

    [Fact]
    public async Task Delayed_messages_beyond_the_in_memory_bound_are_all_delivered_when_due_and_survive_a_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), "omq-tests", Guid.NewGuid().ToString("N"));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { AutoAdvanceAmount = TimeSpan.Zero };
        static void Configure(OrleansMQServerOptions o)
        {
            o.LogStorage = LogStorageKind.File;
            o.StateStorage = LogStorageKind.File;
            o.MaxScheduledInMemory = Bound;
            o.ReadAheadMessages = 32;
        }

        // Message i is due (i * 37 mod 200) + 1 minutes from now: due order is a permutation of publish order.
        var start = time.GetUtcNow();
        static int DueMinute(int i) => (i * 37 % Delayed) + 1;
        var byMinute = Enumerable.Range(0, Delayed).ToDictionary(DueMinute, i => $"d{i}");
        const int BeforeRestart = 60;
        try
        {
            await using (var before = await BrokerCluster.StartAsync(silos: 1, dataDirectory: data, time: time, configure: Configure))
            {
                var mq = before.Client;
                await mq.Admin.CreateTopicAsync("sched", new TopicSpec());
                await mq.Admin.CreateSubscriptionAsync("sched", "s", new SubscriptionSpec { Start = StartPosition.Earliest });
                await using (var producer = mq.CreateProducer("sched"))
                {
                    await producer.PublishBatchAsync(Enumerable.Range(0, Delayed).Select(i => Message.FromText($"d{i}").WithDeliverAt(start.AddMinutes(DueMinute(i)))));
                    await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"now{i}")));
                }

                await using var consumer = mq.CreateConsumer("sched", "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300), Prefetch = 1 });
                await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();

                // The undelayed messages behind 200 delayed ones flow at once.
                var now = await Eventually.TakeAsync(e, 5, ack: true);
                Assert.Equal(Enumerable.Range(0, 5).Select(i => $"now{i}"), now.Select(d => d.BodyAsString()).Order(StringComparer.Ordinal));
                await AssertBoundedAsync(mq);
                await DeliverMinutesAsync(mq, time, e, byMinute, 1, BeforeRestart);
            }

            await using var after = await BrokerCluster.StartAsync(silos: 1, dataDirectory: data, time: time, configure: Configure);
            await using var consumer2 = after.Client.CreateConsumer("sched", "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300), Prefetch = 1 });
            await using var e2 = consumer2.ConsumeAsync().GetAsyncEnumerator();
            await DeliverMinutesAsync(after.Client, time, e2, byMinute, BeforeRestart + 1, Delayed);
            var stats = await after.Client.Admin.GetSubscriptionStatsAsync("sched", "s");
            Assert.Equal(0, stats[0].Backlog);
            Assert.Equal(0, stats[0].ScheduledInMemory);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // Advances the broker clock a minute at a time: each minute exactly the message due then arrives (none early, none
    // skipped), and the subscription never holds more than the bound.
    private static async Task DeliverMinutesAsync(IOrleansMQClient mq, Microsoft.Extensions.Time.Testing.FakeTimeProvider time,
        IAsyncEnumerator<Delivery> e, Dictionary<int, string> byMinute, int from, int to)
    {
        for (var minute = from; minute <= to; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            var got = await Eventually.TakeAsync(e, 1, timeout: TimeSpan.FromSeconds(60), ack: true);
            Assert.Equal(byMinute[minute], got[0].BodyAsString());
            await AssertBoundedAsync(mq);
        }
    }

    private static async Task AssertBoundedAsync(IOrleansMQClient mq)
    {
        var stats = await mq.Admin.GetSubscriptionStatsAsync("sched", "s");
        Assert.InRange(stats[0].ScheduledInMemory, 0, Bound);
    }
}
