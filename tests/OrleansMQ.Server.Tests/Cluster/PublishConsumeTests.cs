using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class PublishConsumeTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Published_messages_are_consumed_across_silos_with_dense_offsets_per_partition()
    {
        var topic = TestNames.Unique("orders");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 4 });
        await mq.Admin.CreateSubscriptionAsync(topic, "billing", new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest });

        await using var producer = mq.CreateProducer(topic);
        var receipts = await producer.PublishBatchAsync(Enumerable.Range(0, 200).Select(i => Message.FromText($"order {i}", key: $"customer-{i % 10}")));

        Assert.Equal(200, receipts.Count);
        foreach (var group in receipts.GroupBy(r => r.Partition))
        {
            Assert.Equal(Enumerable.Range(0, group.Count()).Select(i => (long)i), group.Select(r => r.Offset).Order());
        }

        // The partitions are spread over both silos; one consumer reads them all.
        await using var consumer = mq.CreateConsumer(topic, "billing", new ConsumerOptions { Prefetch = 64 });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 200, ack: true);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"order {i}").Order(), got.Select(d => d.BodyAsString()).Order());
        Assert.All(got, d => Assert.False(d.Redelivered));
        var stats = await Eventually.ReturnsAsync(() => mq.Admin.GetSubscriptionStatsAsync(topic, "billing"), s => s.Sum(p => p.Backlog) == 0);
        Assert.Equal(200, stats.Sum(p => p.AckFloor));
    }

    [Fact]
    public async Task Keyed_messages_keep_their_order_within_a_key()
    {
        var topic = TestNames.Unique("ordered");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 3 });
        await mq.Admin.CreateSubscriptionAsync(topic, "audit", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
        await using var producer = mq.CreateProducer(topic);
        var publishes = new List<Task>();
        for (var i = 0; i < 300; i++)
        {
            publishes.Add(producer.PublishAsync(Message.FromText(i.ToString(System.Globalization.CultureInfo.InvariantCulture), key: $"k{i % 7}")).AsTask());
        }

        await Task.WhenAll(publishes);
        await using var consumer = mq.CreateConsumer(topic, "audit");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 300, ack: true);
        foreach (var byKey in got.GroupBy(d => d.Message.Key))
        {
            var values = byKey.Select(d => int.Parse(d.BodyAsString(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.Order(), values);
            Assert.Single(byKey.Select(d => d.Partition).Distinct());
        }
    }

    [Fact]
    public async Task Queue_hands_each_message_to_exactly_one_of_competing_consumers()
    {
        var queue = TestNames.Unique("jobs");
        var mq = Broker.Client;
        await mq.Admin.CreateQueueAsync(queue, new QueueSpec { Partitions = 2 });
        await using var producer = mq.CreateProducer(queue);
        await producer.PublishBatchAsync(Enumerable.Range(0, 100).Select(i => Message.FromText($"job {i}")));

        await using var a = mq.CreateQueueConsumer(queue, new ConsumerOptions { Prefetch = 10 });
        await using var b = mq.CreateQueueConsumer(queue, new ConsumerOptions { Prefetch = 10 });
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        async Task Work(IConsumer consumer)
        {
            try
            {
                await foreach (var d in consumer.ConsumeAsync(cts.Token))
                {
                    Assert.True(seen.TryAdd(d.BodyAsString(), consumer.ConsumerId), $"{d.BodyAsString()} was delivered twice");
                    await d.AckAsync();
                    if (seen.Count == 100)
                    {
                        await cts.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Task.WhenAll(Work(a), Work(b));
        Assert.Equal(100, seen.Count);
        Assert.Equal(2, seen.Values.Distinct().Count());
        var stats = await Eventually.ReturnsAsync(() => mq.Admin.GetSubscriptionStatsAsync(queue, IOrleansMQAdmin.QueueSubscription), s => s.Sum(p => p.Backlog) == 0);
        Assert.Equal(0, stats.Sum(p => p.InFlight));
    }

    [Fact]
    public async Task Acked_queue_messages_are_deleted_by_retention()
    {
        var queue = TestNames.Unique("retained");
        var mq = Broker.Client;
        await mq.Admin.CreateQueueAsync(queue);
        await using var producer = mq.CreateProducer(queue);
        var body = new byte[1000];
        await producer.PublishBatchAsync(Enumerable.Range(0, 100).Select(_ => new Message(body)));
        var before = (await mq.Admin.GetPartitionsAsync(queue))[0];
        Assert.Equal(0, before.LowWatermark);

        await using var consumer = mq.CreateQueueConsumer(queue);
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        await Eventually.TakeAsync(e, 100, ack: true);

        // Segments are 16 KiB in the test cluster: once everything is acked, all sealed segments go.
        var after = await Eventually.ReturnsAsync(() => mq.Admin.GetPartitionsAsync(queue), p => p[0].LowWatermark > 50, because: "retention deletes acked segments");
        Assert.True(after[0].SizeBytes < before.SizeBytes);
        Assert.Equal(100, after[0].HighWatermark);
    }

    [Fact]
    public async Task Topics_are_listed_until_deleted_and_deleting_removes_their_data()
    {
        var topic = TestNames.Unique("listed");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(topic);
        await mq.Admin.CreateSubscriptionAsync(topic, "s");
        await mq.PublishAsync(topic, Message.FromText("x"));
        var names = await mq.Admin.ListTopicsAsync();
        Assert.Contains(topic, names);
        Assert.Contains($"{topic}.s.dlq", names);

        await mq.Admin.DeleteTopicAsync(topic);
        Assert.DoesNotContain(topic, await mq.Admin.ListTopicsAsync());
        var gone = await Assert.ThrowsAsync<OrleansMQException>(() => mq.Admin.GetTopicAsync(topic));
        Assert.Equal(ErrorCode.NotFound, gone.Code);

        // Re-created under the same name, it starts empty with fresh cursors.
        await mq.Admin.CreateTopicAsync(topic);
        await mq.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        Assert.Equal(0, (await mq.Admin.GetPartitionsAsync(topic))[0].HighWatermark);
        Assert.Equal(0, (await mq.Admin.GetSubscriptionStatsAsync(topic, "s"))[0].AckFloor);
    }

    [Fact]
    public async Task Messages_older_than_the_retention_age_are_deleted_by_whole_segments()
    {
        var topic = TestNames.Unique("aged");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(topic, new TopicSpec { Retention = new RetentionPolicy { MaxAge = TimeSpan.FromHours(1) } });
        await using var producer = mq.CreateProducer(topic);
        var body = new byte[1000];
        await producer.PublishBatchAsync(Enumerable.Range(0, 60).Select(_ => new Message(body)));
        Broker.Time.Advance(TimeSpan.FromMinutes(30));
        await producer.PublishBatchAsync(Enumerable.Range(0, 60).Select(_ => new Message(body)));

        // Nothing is an hour old yet.
        var young = (await mq.Admin.GetPartitionsAsync(topic))[0];
        Assert.Equal(0, young.LowWatermark);

        // 45 minutes later the first 60 are past the limit: their segments go, the younger ones stay.
        Broker.Time.Advance(TimeSpan.FromMinutes(45));
        var aged = await Eventually.ReturnsAsync(() => mq.Admin.GetPartitionsAsync(topic), p => p[0].LowWatermark > 0, because: "age retention runs every second in the test cluster");
        Assert.InRange(aged[0].LowWatermark, 1, 60);
        Assert.Equal(120, aged[0].HighWatermark);
    }
}
