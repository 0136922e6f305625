using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class AdvancedDeliveryTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    private async Task<string> QueueAsync(string prefix, TopicSpec? spec = null)
    {
        var topic = TestNames.Unique(prefix);
        await Broker.Client.Admin.CreateTopicAsync(topic, spec ?? new TopicSpec());
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        return topic;
    }

    [Fact]
    public async Task Delayed_message_is_held_until_it_is_due_while_others_flow()
    {
        var topic = await QueueAsync("delayed");
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishAsync(Message.FromText("later").WithDelay(TimeSpan.FromMinutes(30)));
            await producer.PublishAsync(Message.FromText("now"));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        Assert.Equal("now", (await Eventually.TakeAsync(e, 1, ack: true))[0].BodyAsString());
        var next = e.MoveNextAsync().AsTask();
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(700)));

        Broker.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("later", e.Current.BodyAsString());
        Assert.Equal(1, e.Current.DeliveryCount);
        await e.Current.AckAsync();
    }

    [Fact]
    public async Task Expired_messages_are_dropped_or_dead_lettered_per_topic()
    {
        var dropping = await QueueAsync("ttl-drop");
        var dead = await QueueAsync("ttl-dlq", new TopicSpec { MessageTtl = TimeSpan.FromMinutes(1), ExpiredToDeadLetter = true });
        await Broker.Client.PublishAsync(dropping, Message.FromText("short-lived").WithTimeToLive(TimeSpan.FromSeconds(30)));
        await Broker.Client.PublishAsync(dropping, Message.FromText("lives"));
        await Broker.Client.PublishAsync(dead, Message.FromText("topic ttl"));
        Broker.Time.Advance(TimeSpan.FromMinutes(2));

        await using (var consumer = Broker.Client.CreateConsumer(dropping, "s"))
        {
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            Assert.Equal("lives", (await Eventually.TakeAsync(e, 1, ack: true))[0].BodyAsString());
        }

        var dropStats = await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetSubscriptionStatsAsync(dropping, "s"), s => s[0].Backlog == 0);
        Assert.Equal(0, dropStats[0].DeadLettered);

        var expiredConsumer = Broker.Client.CreateConsumer(dead, "s", new ConsumerOptions { PollWait = TimeSpan.FromMilliseconds(300) });
        var expiredEnum = expiredConsumer.ConsumeAsync().GetAsyncEnumerator();
        var nothing = expiredEnum.MoveNextAsync().AsTask();
        Assert.NotSame(nothing, await Task.WhenAny(nothing, Task.Delay(700)));
        await expiredConsumer.DisposeAsync(); // ends the stream: the pending read completes empty
        Assert.False(await nothing.WaitAsync(TimeSpan.FromSeconds(20)));
        await expiredEnum.DisposeAsync();

        var dlq = new SubscriptionSpec().DeadLetterTopicFor(dead, "s");
        await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetPartitionsAsync(dlq), p => p[0].HighWatermark == 1);
        var stored = await Broker.Grains.GetGrain<OrleansMQ.Grains.IPartitionGrain>(GrainKeys.Partition(dlq, 0)).ReadAsync(0, 1, 1 << 20);
        Assert.StartsWith("expired", stored.Messages[0].Headers[Headers.DeadLetterReason]);
        Assert.Equal("topic ttl", stored.Messages[0].BodyAsString());
    }

    [Fact]
    public async Task Shared_subscription_delivers_higher_priority_first()
    {
        var topic = await QueueAsync("priority");
        int[] priorities = [0, 5, 9, 1, 9, 3, 0, 7];
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(priorities.Select((p, i) => Message.FromText($"p{p}-{i}").WithPriority(p)));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { Prefetch = 8 });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 8, ack: true);
        Assert.Equal(["p9-2", "p9-4", "p7-7", "p5-1", "p3-5", "p1-3", "p0-0", "p0-6"], got.Select(d => d.BodyAsString()));
    }

    [Fact]
    public async Task Bad_delivery_headers_are_rejected()
    {
        var topic = await QueueAsync("bad-headers");
        var ex = await Assert.ThrowsAsync<OrleansMQException>(async () => await Broker.Client.PublishAsync(topic, Message.FromText("x").WithHeader(Headers.Priority, "12")));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(Headers.Priority, ex.Message);
        Assert.Throws<OrleansMQException>(() => Message.FromText("x").WithPriority(10));
        Assert.Throws<OrleansMQException>(() => Message.FromText("x").WithDelay(TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public async Task Request_gets_the_reply_of_a_consumer_and_times_out_without_one()
    {
        var rpc = TestNames.Unique("rpc");
        await Broker.Client.Admin.CreateQueueAsync(rpc);
        await using var responder = Broker.Client.CreateQueueConsumer(rpc);
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            try
            {
                await foreach (var d in responder.ConsumeAsync(stop.Token))
                {
                    await d.ReplyAsync(Message.FromText(d.BodyAsString().ToUpperInvariant()));
                    await d.AckAsync();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var replies = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => Broker.Client.RequestAsync(rpc, Message.FromText($"ping {i}"), TimeSpan.FromSeconds(20))));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"PING {i}"), replies.Select(r => r.BodyAsString()));
        await stop.CancelAsync();
        await serving;

        var silent = TestNames.Unique("nobody");
        await Broker.Client.Admin.CreateQueueAsync(silent);
        var timeout = await Assert.ThrowsAsync<OrleansMQException>(() => Broker.Client.RequestAsync(silent, Message.FromText("hello?"), TimeSpan.FromMilliseconds(500)));
        Assert.Equal(ErrorCode.RequestTimeout, timeout.Code);
        Assert.Contains(silent, timeout.Message);
    }
}
