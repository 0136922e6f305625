using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class BadInputTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Theory]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("..")]
    [InlineData("ends-with-ünicode")]
    public async Task Invalid_topic_names_are_rejected_on_the_server_too(string name)
    {
        // Straight to the grain, bypassing client-side checks.
        var ex = await Assert.ThrowsAsync<OrleansMQException>(() => Broker.Grains.GetGrain<ITopicGrain>(name).CreateAsync(new TopicSpec()));
        Assert.Equal(ErrorCode.InvalidName, ex.Code);
    }

    [Fact]
    public async Task Oversize_message_is_rejected_with_the_limit_and_nothing_is_written()
    {
        var topic = TestNames.Unique("big");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await using var producer = Broker.Client.CreateProducer(topic);
        await producer.PublishAsync(Message.FromText("fine"));

        var tooBig = new Message(new byte[MessageLimits.DefaultMaxMessageBytes + 1]);
        var client = await Assert.ThrowsAsync<OrleansMQException>(async () => await producer.PublishAsync(tooBig));
        Assert.Equal(ErrorCode.MessageTooLarge, client.Code);
        Assert.Contains("1048576", client.Message);

        // The server enforces it as well (a client that skips validation).
        var partition = Broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, 0));
        var server = await Assert.ThrowsAsync<OrleansMQException>(() => partition.AppendAsync(new AppendRequest { Messages = [Message.FromText("ok"), tooBig] }));
        Assert.Equal(ErrorCode.MessageTooLarge, server.Code);
        Assert.Contains(topic, server.Message);

        var info = await partition.GetInfoAsync();
        Assert.Equal(1, info.HighWatermark);
    }

    [Fact]
    public async Task Too_many_headers_are_rejected()
    {
        var topic = TestNames.Unique("headers");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        var headers = Enumerable.Range(0, MessageLimits.MaxHeaders + 1).ToDictionary(i => $"h{i}", i => "v");
        var ex = await Assert.ThrowsAsync<OrleansMQException>(async () => await Broker.Client.PublishAsync(topic, new Message(new byte[1]) { Headers = headers }));
        Assert.Equal(ErrorCode.HeadersTooLarge, ex.Code);
    }

    [Fact]
    public async Task Unknown_topic_and_subscription_are_NotFound()
    {
        var missing = TestNames.Unique("missing");
        var publish = await Assert.ThrowsAsync<OrleansMQException>(async () => await Broker.Client.PublishAsync(missing, Message.FromText("x")));
        Assert.Equal(ErrorCode.NotFound, publish.Code);
        Assert.Contains(missing, publish.Message);

        var topic = TestNames.Unique("exists");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await using var consumer = Broker.Client.CreateConsumer(topic, "nope");
        var consume = await Assert.ThrowsAsync<OrleansMQException>(async () =>
        {
            await foreach (var unused in consumer.ConsumeAsync())
            {
            }
        });
        Assert.Equal(ErrorCode.NotFound, consume.Code);
        Assert.Contains("nope", consume.Message);

        var direct = await Assert.ThrowsAsync<OrleansMQException>(() =>
            Broker.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "nope")).ReceiveAsync("c", 1, TimeSpan.Zero));
        Assert.Equal(ErrorCode.NotFound, direct.Code);
    }

    [Fact]
    public async Task Acking_an_unknown_delivery_is_a_typed_error()
    {
        var topic = TestNames.Unique("ack");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        await Broker.Client.PublishAsync(topic, Message.FromText("x"));
        var sub = Broker.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "s"));

        var never = await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("c", [new DeliveryTag(0, 1)]));
        Assert.Equal(ErrorCode.UnknownDelivery, never.Code);
        var beyond = await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("c", [new DeliveryTag(99, 1)]));
        Assert.Equal(ErrorCode.UnknownDelivery, beyond.Code);

        var got = await sub.ReceiveAsync("c", 10, TimeSpan.FromSeconds(1));
        var d = Assert.Single(got.Messages);
        await sub.AckAsync("c", [d.Tag]);
        await sub.AckAsync("c", [d.Tag]); // acks are idempotent
        Assert.Equal(0, (await sub.GetStatsAsync()).Backlog);
    }

    [Fact]
    public async Task Recreating_a_topic_with_a_different_definition_is_AlreadyExists()
    {
        var topic = TestNames.Unique("dup");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 2 });
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 2 }); // same: fine
        var ex = await Assert.ThrowsAsync<OrleansMQException>(() => Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 3 }));
        Assert.Equal(ErrorCode.AlreadyExists, ex.Code);
        var bad = await Assert.ThrowsAsync<OrleansMQException>(() => Broker.Client.Admin.CreateTopicAsync(TestNames.Unique("p"), new TopicSpec { Partitions = 0 }));
        Assert.Equal(ErrorCode.InvalidArgument, bad.Code);
    }
}
