using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ProducerAndPushTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Idempotent_producer_retry_is_acknowledged_without_a_second_append()
    {
        var topic = TestNames.Unique("idem");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        var partition = Broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, 0));
        var batch = new AppendRequest { Messages = [Message.FromText("a"), Message.FromText("b")], ProducerId = "p1", FirstSequence = 0 };

        var first = await partition.AppendAsync(batch);
        var retry = await partition.AppendAsync(batch);
        var overlap = await partition.AppendAsync(batch with { Messages = [Message.FromText("b"), Message.FromText("c")], FirstSequence = 1 });

        Assert.Equal([0L, 1L], first.Select(r => r.Offset));
        Assert.All(first, r => Assert.False(r.Duplicate));
        Assert.Equal([0L, 1L], retry.Select(r => r.Offset));
        Assert.All(retry, r => Assert.True(r.Duplicate));
        Assert.Equal([(1L, true), (2L, false)], overlap.Select(r => (r.Offset, r.Duplicate)));
        var info = await partition.GetInfoAsync();
        Assert.Equal(3, info.HighWatermark);

        var gap = await Assert.ThrowsAsync<OrleansMQException>(() => partition.AppendAsync(batch with { FirstSequence = 10 }));
        Assert.Equal(ErrorCode.OutOfOrderSequence, gap.Code);
        Assert.Equal(3, (await partition.GetInfoAsync()).HighWatermark);
    }

    [Fact]
    public async Task Publishing_into_a_full_backlog_fails_with_BacklogFull_and_keeps_what_was_accepted()
    {
        var topic = TestNames.Unique("full");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { MaxBacklogMessages = 10 });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "slow", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using var producer = Broker.Client.CreateProducer(topic);
        await producer.PublishBatchAsync(Enumerable.Range(0, 10).Select(i => Message.FromText($"m{i}")));

        var ex = await Assert.ThrowsAsync<OrleansMQException>(async () => await producer.PublishAsync(Message.FromText("one too many")));
        Assert.Equal(ErrorCode.BacklogFull, ex.Code);
        Assert.Contains("10", ex.Message);

        // Consuming frees room again; everything accepted before is intact.
        await using var consumer = Broker.Client.CreateConsumer(topic, "slow");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 10, ack: true);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), got.Select(d => d.BodyAsString()));
        var receipt = await Eventually.ReturnsAsync(async () =>
        {
            try
            {
                return (PublishReceipt?)await producer.PublishAsync(Message.FromText("room again"));
            }
            catch (OrleansMQException e2) when (e2.Code == ErrorCode.BacklogFull)
            {
                return null;
            }
        }, r => r is not null);
        Assert.Equal(10, receipt!.Value.Offset);
    }

    [Fact]
    public async Task Subscriber_grain_gets_batches_pushed_in_order_and_a_failure_is_redelivered()
    {
        var topic = TestNames.Unique("push");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 2 });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest, NackBackoffInitial = TimeSpan.Zero });
        var key = Guid.NewGuid().ToString("N");
        await Broker.Client.Admin.SetSubscriberAsync(topic, "s", Broker.Grains.GetGrain<IRecordingSubscriberGrain>(key));

        await using var producer = Broker.Client.CreateProducer(topic);
        for (var i = 0; i < 50; i++)
        {
            await producer.PublishAsync(Message.FromText(i == 20 ? "fail-once-20" : $"m{i}", key: "same-key"));
        }

        var log = await Eventually.ReturnsAsync(() => Task.FromResult(RecordingSubscriberGrain.Received.GetOrAdd(key, _ => new())), q => q.Count >= 50);
        var bodies = log.Select(r => r.Body).ToList();
        Assert.Contains("fail-once-20", bodies);
        Assert.Equal(2, log.Single(r => r.Body == "fail-once-20").DeliveryCount);
        Assert.Equal(50, bodies.Distinct().Count());
        var stats = await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s.Sum(p => p.Backlog) == 0);
        Assert.Equal(50, stats.Sum(p => p.AckFloor));
    }

    [Fact]
    public async Task Seek_replays_from_an_offset_and_from_a_timestamp()
    {
        var topic = TestNames.Unique("replay");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
        await using var producer = Broker.Client.CreateProducer(topic);
        await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"early{i}")));
        Broker.Time.Advance(TimeSpan.FromMinutes(10));
        var cut = Broker.Time.GetUtcNow();
        await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"late{i}")));

        await using (var consumer = Broker.Client.CreateConsumer(topic, "s"))
        {
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            await Eventually.TakeAsync(e, 10, ack: true);
        }

        await Broker.Client.Admin.SeekAsync(topic, "s", StartPosition.AtOffset(7));
        await using (var consumer = Broker.Client.CreateConsumer(topic, "s"))
        {
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            Assert.Equal(["late2", "late3", "late4"], (await Eventually.TakeAsync(e, 3, ack: true)).Select(d => d.BodyAsString()));
        }

        await Broker.Client.Admin.SeekAsync(topic, "s", StartPosition.AtTimestamp(cut));
        await using (var consumer = Broker.Client.CreateConsumer(topic, "s"))
        {
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            Assert.Equal(["late0", "late1", "late2", "late3", "late4"], (await Eventually.TakeAsync(e, 5, ack: true)).Select(d => d.BodyAsString()));
        }

        // A new subscription can start at a time too.
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "from-time", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.AtTimestamp(cut) });
        var stats = await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "from-time");
        Assert.Equal(5, stats[0].AckFloor);
    }

    [Fact]
    public async Task Grains_inside_the_silo_use_the_client_library_to_publish()
    {
        var source = TestNames.Unique("source");
        var target = TestNames.Unique("target");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(source);
        await mq.Admin.CreateTopicAsync(target);
        await mq.Admin.CreateSubscriptionAsync(source, "forward", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
        await mq.Admin.CreateSubscriptionAsync(target, "check", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
        await mq.Admin.SetSubscriberAsync(source, "forward", Broker.Grains.GetGrain<IForwardingGrain>(target));

        await using (var producer = mq.CreateProducer(source))
        {
            await producer.PublishBatchAsync(new[] { "a", "b", "c" }.Select(t => Message.FromText(t, key: "k")));
        }

        await using var consumer = mq.CreateConsumer(target, "check");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 3, ack: true);
        Assert.Equal(["A", "B", "C"], got.Select(d => d.BodyAsString()));
    }

    [Fact]
    public async Task Message_ids_are_deduplicated_within_the_window_even_after_reactivation()
    {
        var topic = TestNames.Unique("dedup");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 4, DeduplicationWindow = TimeSpan.FromMinutes(10) });
        await using var producer = Broker.Client.CreateProducer(topic, new ProducerOptions { Idempotent = false });
        var first = await producer.PublishAsync(new Message(new byte[] { 1 }) { MessageId = "order-1" });
        var again = await producer.PublishAsync(new Message(new byte[] { 2 }) { MessageId = "order-1" });
        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal((first.Partition, first.Offset), (again.Partition, again.Offset));

        // Twice in one batch: one copy.
        var batch = await producer.PublishBatchAsync([new Message(new byte[] { 3 }) { MessageId = "order-2" }, new Message(new byte[] { 4 }) { MessageId = "order-2" }]);
        Assert.Equal(batch[0].Offset, batch[1].Offset);
        Assert.True(batch[1].Duplicate);

        // The window is rebuilt from the log when the partition grain comes back.
        var partition = Broker.Grains.GetGrain<OrleansMQ.Grains.IPartitionGrain>(GrainKeys.Partition(topic, first.Partition));
        await Broker.Cluster.DeactivateAsync(partition);
        Assert.True((await producer.PublishAsync(new Message(new byte[] { 5 }) { MessageId = "order-1" })).Duplicate);

        // After the window, the same id is a new message.
        Broker.Time.Advance(TimeSpan.FromMinutes(11));
        var later = await producer.PublishAsync(new Message(new byte[] { 6 }) { MessageId = "order-1" });
        Assert.False(later.Duplicate);
        Assert.Equal(3, (await Broker.Client.Admin.GetPartitionsAsync(topic)).Sum(p => p.HighWatermark));
    }
}
