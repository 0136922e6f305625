using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class SubscriptionTypeTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    private async Task<string> TopicWithMessagesAsync(string prefix, string subscription, SubscriptionSpec spec, int count, int partitions = 1, Func<int, string?>? key = null)
    {
        var topic = TestNames.Unique(prefix);
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = partitions });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, subscription, spec);
        await using var producer = Broker.Client.CreateProducer(topic);
        await producer.PublishBatchAsync(Enumerable.Range(0, count).Select(i => Message.FromText($"m{i}", key?.Invoke(i))));
        return topic;
    }

    [Fact]
    public async Task Exclusive_subscription_refuses_a_second_consumer_and_resumes_from_the_committed_offset()
    {
        var topic = await TopicWithMessagesAsync("exclusive", "s", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest }, 10);
        var first = Broker.Client.CreateConsumer(topic, "s");
        var e = first.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 10);
        await got[3].AckAsync(); // cumulative: 0..3 committed

        await using (var second = Broker.Client.CreateConsumer(topic, "s"))
        {
            var ex = await Assert.ThrowsAsync<OrleansMQException>(async () =>
            {
                await foreach (var unused in second.ConsumeAsync())
                {
                }
            });
            Assert.Equal(ErrorCode.ConsumerBusy, ex.Code);
        }

        await e.DisposeAsync();
        await first.DisposeAsync();

        // A new consumer gets everything after the committed offset again, in order, marked as redelivered.
        await using var third = Broker.Client.CreateConsumer(topic, "s");
        await using var e3 = third.ConsumeAsync().GetAsyncEnumerator();
        var again = await Eventually.TakeAsync(e3, 6);
        Assert.Equal(["m4", "m5", "m6", "m7", "m8", "m9"], again.Select(d => d.BodyAsString()));
        Assert.All(again, d => Assert.True(d.Redelivered));
    }

    [Fact]
    public async Task Failover_subscription_delivers_to_one_consumer_and_the_standby_takes_over()
    {
        var topic = await TopicWithMessagesAsync("failover", "s", new SubscriptionSpec { Type = SubscriptionType.Failover, Start = StartPosition.Earliest }, 6);
        var active = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "active" });
        var activeEnum = active.ConsumeAsync().GetAsyncEnumerator();
        var firstBatch = await Eventually.TakeAsync(activeEnum, 6);
        await firstBatch[1].AckAsync();

        await using var standby = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "standby", PollWait = TimeSpan.FromMilliseconds(200) });
        await using var standbyEnum = standby.ConsumeAsync().GetAsyncEnumerator();
        var standbyNext = standbyEnum.MoveNextAsync().AsTask();
        Assert.NotSame(standbyNext, await Task.WhenAny(standbyNext, Task.Delay(500)));

        await activeEnum.DisposeAsync();
        await active.DisposeAsync();

        Assert.True(await standbyNext.WaitAsync(TimeSpan.FromSeconds(20)));
        var rest = new List<Delivery> { standbyEnum.Current };
        rest.AddRange(await Eventually.TakeAsync(standbyEnum, 3));
        Assert.Equal(["m2", "m3", "m4", "m5"], rest.Select(d => d.BodyAsString()));
    }

    [Fact]
    public async Task KeyShared_subscription_gives_each_key_to_one_consumer_in_order()
    {
        var topic = await TopicWithMessagesAsync("keyshared", "s", new SubscriptionSpec { Type = SubscriptionType.KeyShared, Start = StartPosition.Earliest }, 200, key: i => $"key{i % 20}");
        await using var a = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "a", Prefetch = 50 });
        await using var b = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "b", Prefetch = 50 });
        var received = new System.Collections.Concurrent.ConcurrentQueue<(string Consumer, string Key, int N)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        async Task Work(IConsumer consumer)
        {
            try
            {
                await foreach (var d in consumer.ConsumeAsync(cts.Token))
                {
                    received.Enqueue((consumer.ConsumerId, d.Message.Key!, int.Parse(d.BodyAsString()[1..], System.Globalization.CultureInfo.InvariantCulture)));
                    await d.AckAsync();
                    if (received.Count >= 200)
                    {
                        await cts.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        // Start both before anything is delivered so keys split between them.
        var workA = Work(a);
        var workB = Work(b);
        await Task.WhenAll(workA, workB);

        Assert.Equal(200, received.Count);
        foreach (var key in received.GroupBy(r => r.Key))
        {
            Assert.Equal(key.Select(r => r.N).Order(), key.Select(r => r.N));
        }
    }

    [Fact]
    public async Task Shared_unacked_message_comes_back_after_the_ack_timeout()
    {
        var topic = await TopicWithMessagesAsync("lease", "s", new SubscriptionSpec { Start = StartPosition.Earliest, AckTimeout = TimeSpan.FromSeconds(30) }, 1);
        await using var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var first = (await Eventually.TakeAsync(e, 1))[0];
        Assert.Equal(1, first.DeliveryCount);

        // Nothing comes back before the lease runs out ...
        Broker.Time.Advance(TimeSpan.FromSeconds(29));
        var next = e.MoveNextAsync().AsTask();
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(700)));

        // ... and it does once it has.
        Broker.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("m0", e.Current.BodyAsString());
        Assert.Equal(2, e.Current.DeliveryCount);
        Assert.True(e.Current.Redelivered);

        // The first delivery's ack is now stale.
        var stale = await Assert.ThrowsAsync<OrleansMQException>(() => first.AckAsync());
        Assert.Equal(ErrorCode.DeliveryExpired, stale.Code);
        await e.Current.AckAsync();
    }

    [Fact]
    public async Task Nacked_message_is_redelivered_after_backoff_then_dead_lettered_and_can_be_redriven()
    {
        var spec = new SubscriptionSpec { Start = StartPosition.Earliest, MaxDeliveries = 3, NackBackoffInitial = TimeSpan.FromSeconds(10), NackBackoffMax = TimeSpan.FromMinutes(1) };
        var topic = await TopicWithMessagesAsync("poison", "s", spec, 1, key: _ => "k1");
        await using var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();

        var d1 = (await Eventually.TakeAsync(e, 1))[0];
        await d1.NackAsync("bad payload");
        var next = e.MoveNextAsync().AsTask();
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(700)));
        Broker.Time.Advance(TimeSpan.FromSeconds(10)); // first backoff: 10 s
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(2, e.Current.DeliveryCount);
        await e.Current.NackAsync("bad payload");

        Broker.Time.Advance(TimeSpan.FromSeconds(20)); // second backoff: 20 s
        var d3 = (await Eventually.TakeAsync(e, 1))[0];
        Assert.Equal(3, d3.DeliveryCount);
        await d3.NackAsync("still bad");

        // Third failure = max deliveries: the message moves to the dead-letter topic with its history.
        var dlq = spec.DeadLetterTopicFor(topic, "s");
        var dlqInfo = await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetPartitionsAsync(dlq), p => p[0].HighWatermark == 1);
        Assert.Equal(1, dlqInfo[0].HighWatermark);
        var dead = await Broker.Grains.GetGrain<OrleansMQ.Grains.IPartitionGrain>(GrainKeys.Partition(dlq, 0)).ReadAsync(0, 10, 1 << 20);
        var m = Assert.Single(dead.Messages);
        Assert.Equal("m0", m.BodyAsString());
        Assert.Equal("k1", m.Key);
        Assert.Equal("still bad", m.Headers[Headers.DeadLetterReason]);
        Assert.Equal(topic, m.Headers[Headers.OriginalTopic]);
        Assert.Equal("0", m.Headers[Headers.OriginalPartition]);
        Assert.Equal("0", m.Headers[Headers.OriginalOffset]);
        Assert.Equal("3", m.Headers[Headers.DeliveryCount]);
        var stats = await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s");
        Assert.Equal(1, stats[0].DeadLettered);
        Assert.Equal(0, stats[0].Backlog);

        // Re-drive puts it back on the topic, where the subscription gets it as a new message.
        Assert.Equal(1, await Broker.Client.Admin.RedriveAsync(topic, "s"));
        var redriven = (await Eventually.TakeAsync(e, 1))[0];
        Assert.Equal("m0", redriven.BodyAsString());
        Assert.Equal("true", redriven.Message.Headers[Headers.Redriven]);
        Assert.False(redriven.Message.Headers.ContainsKey(Headers.DeadLetterReason));
        Assert.Equal(1, redriven.DeliveryCount);
        await redriven.AckAsync();
        Assert.Equal(0, await Broker.Client.Admin.RedriveAsync(topic, "s"));
    }

    [Fact]
    public async Task Closing_a_consumer_releases_its_unacked_messages_to_others_at_once()
    {
        var topic = await TopicWithMessagesAsync("release", "s", new SubscriptionSpec { Start = StartPosition.Earliest }, 5);
        var greedy = Broker.Client.CreateConsumer(topic, "s");
        var ge = greedy.ConsumeAsync().GetAsyncEnumerator();
        await Eventually.TakeAsync(ge, 5);
        await ge.DisposeAsync();
        await greedy.DisposeAsync();

        await using var other = Broker.Client.CreateConsumer(topic, "s");
        await using var oe = other.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(oe, 5, ack: true);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], got.Select(d => d.BodyAsString()).Order());
        Assert.All(got, d => Assert.Equal(2, d.DeliveryCount));
    }

    [Fact]
    public async Task Disposing_a_consumer_does_not_wait_out_its_long_poll()
    {
        var topic = await TopicWithMessagesAsync("dispose-poll", "s", new SubscriptionSpec { Start = StartPosition.Earliest }, 1);
        var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { PollWait = TimeSpan.FromSeconds(20) });
        var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        await Eventually.TakeAsync(e, 1, ack: true);

        // The reader is now parked in a 20 s receive on an empty subscription (on the cluster's fake clock it would
        // never time out by itself): disposing must wake it rather than wait for it.
        await e.DisposeAsync();
        await consumer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        // The session is gone, so a new message goes to the next consumer with its first delivery.
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishAsync(Message.FromText("after"));
        }

        await using var next = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300) });
        await using var ne = next.ConsumeAsync().GetAsyncEnumerator();
        var got = (await Eventually.TakeAsync(ne, 1, ack: true))[0];
        Assert.Equal("after", got.BodyAsString());
        Assert.Equal(1, got.DeliveryCount);
    }

    [Fact]
    public async Task Failover_spreads_partitions_over_the_consumers()
    {
        var topic = await TopicWithMessagesAsync("failover-spread", "s", new SubscriptionSpec { Type = SubscriptionType.Failover, Start = StartPosition.Earliest }, 0, partitions: 2);
        await using var a = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "a", PollWait = TimeSpan.FromMilliseconds(300) });
        await using var b = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { ConsumerId = "b", PollWait = TimeSpan.FromMilliseconds(300) });
        var partitionsOf = new System.Collections.Concurrent.ConcurrentDictionary<string, HashSet<int>>();
        var total = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        async Task Work(IConsumer consumer)
        {
            try
            {
                await foreach (var d in consumer.ConsumeAsync(cts.Token))
                {
                    lock (partitionsOf)
                    {
                        partitionsOf.GetOrAdd(consumer.ConsumerId, _ => []).Add(d.Partition);
                    }

                    await d.AckAsync();
                    if (Interlocked.Increment(ref total) >= 40)
                    {
                        await cts.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        var work = new[] { Work(a), Work(b) };
        await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s.All(p => p.Consumers == 2), because: "both consumers poll both partitions");
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 40).Select(i => Message.FromText($"m{i}", key: $"k{i}")));
        }

        await Task.WhenAll(work);
        Assert.True(total >= 40);
        // Partition p belongs to the consumer at p mod 2 in id order; while both are live, each reads its own.
        Assert.Equal([0], partitionsOf["a"].Order());
        Assert.Equal([1], partitionsOf["b"].Order());
    }
}
