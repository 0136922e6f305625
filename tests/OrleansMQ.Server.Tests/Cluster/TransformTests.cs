using System.Text.Json;
using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class TransformTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Binding_transforms_apply_on_the_way_and_a_failure_goes_to_the_exchange_dead_letter_topic()
    {
        var queue = TestNames.Unique("enriched");
        var exchange = TestNames.Unique("pipeline");
        var mq = Broker.Client;
        await mq.Admin.CreateQueueAsync(queue);
        await mq.Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Fanout });
        await mq.Admin.BindAsync(exchange, new Binding
        {
            Destination = queue,
            Transforms = [TransformStep.SetHeader("enriched", "yes"), TransformStep.Custom("explode") with { Name = "validate" }, TransformStep.CloudEventsWrap("/orders", "order.created")],
        });
        var invalid = await Assert.ThrowsAsync<OrleansMQException>(() => mq.Admin.BindAsync(exchange, new Binding { Destination = queue, Transforms = [TransformStep.Custom("not-registered")] }));
        Assert.Equal(ErrorCode.InvalidArgument, invalid.Code);

        await using var producer = mq.CreateExchangeProducer(exchange);
        await producer.PublishAsync("", new Message(System.Text.Encoding.UTF8.GetBytes("""{"sku": "A1"}""")) { ContentType = "application/json" });
        var rejected = await producer.PublishAsync("", Message.FromText("bad order"));
        Assert.Equal([$"{exchange}.dlq"], rejected.Deliveries.Select(d => d.Topic));

        await using var consumer = mq.CreateQueueConsumer(queue);
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var d = (await Eventually.TakeAsync(e, 1, ack: true))[0];
        Assert.Equal("yes", d.Message.Headers["enriched"]);
        using var envelope = JsonDocument.Parse(d.Message.Body);
        Assert.Equal("order.created", envelope.RootElement.GetProperty("type").GetString());
        Assert.Equal("A1", envelope.RootElement.GetProperty("data").GetProperty("sku").GetString());

        var dead = await Broker.Grains.GetGrain<OrleansMQ.Grains.IPartitionGrain>(GrainKeys.Partition($"{exchange}.dlq", 0)).ReadAsync(0, 10, 1 << 20);
        var m = Assert.Single(dead.Messages);
        Assert.Equal("bad order", m.BodyAsString());
        Assert.Contains("'validate'", m.Headers[Headers.DeadLetterReason]);
        Assert.Equal(queue, m.Headers[Headers.OriginalTopic]);
        Assert.False(m.Headers.ContainsKey("enriched"), "the original is dead-lettered, not a half-transformed copy");
    }

    [Fact]
    public async Task Subscription_transforms_apply_at_delivery_and_a_failure_dead_letters_that_message()
    {
        var topic = TestNames.Unique("sub-transform");
        var mq = Broker.Client;
        await mq.Admin.CreateTopicAsync(topic);
        await mq.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec
        {
            Start = StartPosition.Earliest,
            Transforms = [TransformStep.Custom("explode"), TransformStep.Custom("upper")],
        });
        await using (var producer = mq.CreateProducer(topic))
        {
            await producer.PublishBatchAsync([Message.FromText("good one"), Message.FromText("bad one"), Message.FromText("another")]);
        }

        await using var consumer = mq.CreateConsumer(topic, "s");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 2, ack: true);
        Assert.Equal(["GOOD ONE", "ANOTHER"], got.Select(d => d.BodyAsString()));

        var dlq = new SubscriptionSpec().DeadLetterTopicFor(topic, "s");
        await Eventually.ReturnsAsync(() => mq.Admin.GetPartitionsAsync(dlq), p => p[0].HighWatermark == 1);
        var stats = await Eventually.ReturnsAsync(() => mq.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s[0].Backlog == 0);
        Assert.Equal(1, stats[0].DeadLettered);
    }
}
