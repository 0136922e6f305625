using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class FlowControlTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Consumer_never_holds_more_unacked_deliveries_than_its_prefetch()
    {
        var topic = TestNames.Unique("credit");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 20).Select(i => Message.FromText($"m{i}")));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { Prefetch = 5, PollWait = TimeSpan.FromMilliseconds(200) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var held = await Eventually.TakeAsync(e, 5);

        // The broker has handed out exactly the credit: 5 in flight, nothing more until an ack frees credit.
        var stats = await Eventually.ReturnsAsync(() => Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s[0].InFlight == 5);
        var sixth = e.MoveNextAsync().AsTask();
        Assert.NotSame(sixth, await Task.WhenAny(sixth, Task.Delay(800)));
        Assert.Equal(5, (await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"))[0].InFlight);

        await held[0].AckAsync();
        Assert.True(await sixth.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("m5", e.Current.BodyAsString());
        Assert.Equal(20, stats[0].Backlog);
    }

    [Fact]
    public async Task Grouped_acks_free_credit_at_once_and_reach_the_broker_with_the_next_confirmed_ack_or_on_dispose()
    {
        var topic = TestNames.Unique("grouped-acks");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 10).Select(i => Message.FromText($"m{i}")));
        }

        // A group time far longer than the test's steps: nothing but a confirmed ack or the dispose sends these acks.
        var consumer = Broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { Prefetch = 4, AckGroupTime = TimeSpan.FromSeconds(1), PollWait = TimeSpan.FromMilliseconds(200) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var first = await Eventually.TakeAsync(e, 4);
        foreach (var d in first.Take(3))
        {
            d.Ack();
        }

        // The credit came back with Ack(), before any ack call: three more arrive while only one is unsettled.
        var next = await Eventually.TakeAsync(e, 3);
        Assert.Equal(["m4", "m5", "m6"], next.Select(d => d.BodyAsString()));

        // A confirmed ack takes the waiting ones along: once it returns, all four are acked at the broker.
        await first[3].AckAsync();
        var stats = await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s");
        Assert.Equal(6, stats[0].Backlog);

        foreach (var d in next)
        {
            d.Ack();
        }

        Assert.Throws<OrleansMQException>(() => next[0].Ack());
        await consumer.DisposeAsync();
        stats = await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s");
        Assert.Equal(3, stats[0].Backlog);
    }

    [Fact]
    public async Task Failover_standby_takes_over_when_the_active_consumer_stops_polling()
    {
        var topic = TestNames.Unique("failover-timeout");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        var spec = new SubscriptionSpec { Type = SubscriptionType.Failover, Start = StartPosition.Earliest, ConsumerTimeout = TimeSpan.FromSeconds(10) };
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", spec);
        await Broker.Client.PublishAsync(topic, Message.FromText("m0"));
        var sub = Broker.Grains.GetGrain<OrleansMQ.Grains.ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "s"));

        // "crashed" takes the message and then never polls again; "standby" is told it is not active.
        var first = await sub.ReceiveAsync("crashed", 10, TimeSpan.FromSeconds(1));
        Assert.Single(first.Messages);
        var standby = await sub.ReceiveAsync("standby", 10, TimeSpan.Zero);
        Assert.False(standby.Active);
        Assert.Empty(standby.Messages);

        Broker.Time.Advance(TimeSpan.FromSeconds(11));
        var takeover = await sub.ReceiveAsync("standby", 10, TimeSpan.FromSeconds(1));
        Assert.True(takeover.Active);
        var d = Assert.Single(takeover.Messages);
        Assert.Equal("m0", d.Message.BodyAsString());
        Assert.Equal(2, d.DeliveryCount);
    }
}
