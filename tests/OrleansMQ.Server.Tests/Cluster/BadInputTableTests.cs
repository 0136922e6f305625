using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// Bad input through every entry point of the .NET client API (producer, consumer, admin) and the grains behind it,
/// as a table: each case must fail with a typed <see cref="OrleansMQException"/> whose code is the expected one and
/// whose message names the offending field, value or limit; afterwards the cluster still serves (a valid publish
/// works) and nothing accepted before is lost (every earlier message reads back).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BadInputTableTests(SharedClusterFixture fixture)
{
    private const string Sub = "s";

    private BrokerCluster Broker => fixture.Broker;

    /// <summary>A bad call against a topic that has a Shared subscription <see cref="Sub"/> and two messages.</summary>
    private sealed record Case(ErrorCode Code, string[] MessageNames, Func<BrokerCluster, string, Task> Act);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["topic name empty"] = new(ErrorCode.InvalidName, ["topic name", "1–200"], (b, _) => b.Client.Admin.CreateTopicAsync("")),
        ["topic name 201 chars"] = new(ErrorCode.InvalidName, ["length 201", "1–200"], (b, _) => b.Client.Admin.CreateTopicAsync(new string('a', 201))),
        ["topic name with slash"] = new(ErrorCode.InvalidName, ["a/b", "[A-Za-z0-9._-]"], (b, _) => b.Client.Admin.CreateTopicAsync("a/b")),
        ["subscription name with space"] = new(ErrorCode.InvalidName, ["subscription name", "my sub"],
            (b, t) => b.Client.Admin.CreateSubscriptionAsync(t, "my sub")),
        ["exchange name '..'"] = new(ErrorCode.InvalidName, ["exchange name", "'..'"], (b, _) => b.Client.Admin.CreateExchangeAsync("..")),
        ["publish to unknown topic"] = new(ErrorCode.NotFound, ["no-such-topic"], (b, _) => b.Client.PublishAsync("no-such-topic", Message.FromText("x")).AsTask()),
        ["get unknown topic"] = new(ErrorCode.NotFound, ["no-such-topic"], (b, _) => b.Client.Admin.GetTopicAsync("no-such-topic")),
        ["stats of unknown subscription"] = new(ErrorCode.NotFound, ["nope"], (b, t) => b.Client.Admin.GetSubscriptionStatsAsync(t, "nope")),
        ["bind to unknown exchange"] = new(ErrorCode.NotFound, ["no-such-exchange"],
            (b, t) => b.Client.Admin.BindAsync("no-such-exchange", new Binding { Destination = t })),
        ["body over the limit"] = new(ErrorCode.MessageTooLarge, ["1048576"],
            (b, t) => b.Client.PublishAsync(t, new Message(new byte[MessageLimits.DefaultMaxMessageBytes + 1])).AsTask()),
        ["65 headers"] = new(ErrorCode.HeadersTooLarge, ["65 headers", "limit is 64"],
            (b, t) => b.Client.PublishAsync(t, new Message(new byte[1]) { Headers = Enumerable.Range(0, 65).ToDictionary(i => $"h{i}", _ => "v") }).AsTask()),
        ["header value over 4096 chars"] = new(ErrorCode.HeadersTooLarge, ["4097", "limit is 4096"],
            (b, t) => b.Client.PublishAsync(t, new Message(new byte[1]) { Headers = new Dictionary<string, string> { ["big"] = new('v', 4097) } }).AsTask()),
        ["empty header name"] = new(ErrorCode.InvalidArgument, ["empty header name"],
            (b, t) => b.Client.PublishAsync(t, new Message(new byte[1]) { Headers = new Dictionary<string, string> { [""] = "v" } }).AsTask()),
        ["0 partitions"] = new(ErrorCode.InvalidArgument, ["partitions is 0", "1–"], (b, _) => b.Client.Admin.CreateTopicAsync(TestNames.Unique("p0"), new TopicSpec { Partitions = 0 })),
        ["ack timeout 0"] = new(ErrorCode.InvalidArgument, ["ack timeout", "100 ms"],
            (b, t) => b.Client.Admin.CreateSubscriptionAsync(t, "zero", new SubscriptionSpec { AckTimeout = TimeSpan.Zero })),
        ["negative max deliveries"] = new(ErrorCode.InvalidArgument, ["max deliveries -1"],
            (b, t) => b.Client.Admin.CreateSubscriptionAsync(t, "neg", new SubscriptionSpec { MaxDeliveries = -1 })),
        ["negative start offset"] = new(ErrorCode.InvalidArgument, ["-1"], (b, t) => b.Client.Admin.SeekAsync(t, Sub, StartPosition.AtOffset(-1))),
        ["unknown start kind"] = new(ErrorCode.InvalidArgument, ["start position kind", "99"],
            (b, t) => b.Client.Admin.SeekAsync(t, Sub, new StartPosition { Kind = (StartKind)99 })),
        ["consumer prefetch 0"] = new(ErrorCode.InvalidArgument, ["prefetch 0", "1–10000"], (b, t) => ConsumeOneAsync(b, t, new ConsumerOptions { Prefetch = 0 })),
        ["consumer ack group time 2 s"] = new(ErrorCode.InvalidArgument, ["AckGroupTime", "0–1 s"], (b, t) => ConsumeOneAsync(b, t, new ConsumerOptions { AckGroupTime = TimeSpan.FromSeconds(2) })),
        ["consume unknown subscription"] = new(ErrorCode.NotFound, ["nope"], (b, t) => ConsumeOneAsync(b, t, new ConsumerOptions(), "nope")),
        ["receive 0 messages"] = new(ErrorCode.InvalidArgument, ["maxMessages is 0", "1–10000"], (b, t) => Subscription(b, t).ReceiveAsync("c", 0, TimeSpan.Zero)),
        ["receive 10001 messages"] = new(ErrorCode.InvalidArgument, ["maxMessages is 10001"], (b, t) => Subscription(b, t).ReceiveAsync("c", 10_001, TimeSpan.Zero)),
        ["receive with empty consumer id"] = new(ErrorCode.InvalidArgument, ["Consumer id", "1–256"], (b, t) => Subscription(b, t).ReceiveAsync("", 1, TimeSpan.Zero)),
        ["read 0 messages"] = new(ErrorCode.InvalidArgument, ["maxMessages (0)"], (b, t) => Partition(b, t).ReadAsync(0, 0, 1024)),
        ["read with negative byte budget"] = new(ErrorCode.InvalidArgument, ["maxBytes (-1)"], (b, t) => Partition(b, t).ReadAsync(0, 10, -1)),
        ["ack of a never-delivered offset"] = new(ErrorCode.UnknownDelivery, ["1#1", "never delivered"], (b, t) => Subscription(b, t).AckAsync("c", [new DeliveryTag(1, 1)])),
        ["ack of offset long.MaxValue"] = new(ErrorCode.UnknownDelivery, [long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            (b, t) => Subscription(b, t).AckAsync("c", [new DeliveryTag(long.MaxValue, 1)])),
        ["nack of a never-delivered offset"] = new(ErrorCode.UnknownDelivery, ["0#3"], (b, t) => Subscription(b, t).NackAsync("c", [new DeliveryTag(0, 3)], "bad")),
        ["filter syntax error"] = new(ErrorCode.InvalidArgument, ["headers.region ==", "expected a value", "position"],
            (b, t) => BindAsync(b, t, ExchangeType.Direct, new Binding { Destination = t, Filter = "headers.region ==" })),
        ["filter over 1024 chars"] = new(ErrorCode.InvalidArgument, ["1025 characters", "limit is 1024"],
            (b, t) => BindAsync(b, t, ExchangeType.Direct, new Binding { Destination = t, Filter = new string(' ', 1025) })),
        ["filter of 1000 nested parentheses"] = new(ErrorCode.InvalidArgument, ["position"],
            (b, t) => BindAsync(b, t, ExchangeType.Direct, new Binding { Destination = t, Filter = new string('(', 1000) })),
        ["filter with an unknown name"] = new(ErrorCode.InvalidArgument, ["unknown name 'size'"],
            (b, t) => BindAsync(b, t, ExchangeType.Direct, new Binding { Destination = t, Filter = "size > 3" })),
        ["topic pattern over 255 chars"] = new(ErrorCode.InvalidArgument, ["257 characters", "limit is 255"],
            (b, t) => BindAsync(b, t, ExchangeType.Topic, new Binding { Destination = t, Key = string.Join('.', Enumerable.Repeat("#", 128)) + ".x" })),
        ["headers binding without headers"] = new(ErrorCode.InvalidArgument, ["at least one header"],
            (b, t) => BindAsync(b, t, ExchangeType.Headers, new Binding { Destination = t })),
        ["binding to an invalid destination"] = new(ErrorCode.InvalidName, ["binding destination", "x y"],
            (b, t) => BindAsync(b, t, ExchangeType.Fanout, new Binding { Destination = "x y" })),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_input_is_a_typed_error_naming_the_problem_and_harms_nothing(string name)
    {
        var topic = await TopicWithTwoMessagesAsync();
        var bad = Cases[name];

        var ex = await Assert.ThrowsAsync<OrleansMQException>(() => bad.Act(Broker, topic));

        Assert.True(bad.Code == ex.Code, $"{name}: expected {bad.Code}, got {ex.Code}: {ex.Message}");
        foreach (var part in bad.MessageNames)
        {
            Assert.True(ex.Message.Contains(part, StringComparison.Ordinal), $"{name}: the message does not name '{part}': {ex.Message}");
        }

        await AssertStillServingAsync(topic, 2);
    }

    [Fact]
    public async Task An_empty_body_and_empty_key_are_accepted_and_round_trip()
    {
        var topic = await TopicWithTwoMessagesAsync();
        await Broker.Client.PublishAsync(topic, new Message(ReadOnlyMemory<byte>.Empty) { Key = "" });
        var read = await Partition(Broker, topic).ReadAsync(2, 10, 1 << 20);
        Assert.Equal(0, Assert.Single(read.Messages).Body.Length);
        await AssertStillServingAsync(topic, 3);
    }

    [Theory]
    [InlineData(-5L, 0L)]
    [InlineData(long.MinValue, 0L)]
    [InlineData(long.MaxValue, 2L)]
    [InlineData(1L, 1L)]
    public async Task A_seek_to_an_offset_outside_the_log_is_clamped_to_the_retained_range(long offset, long expectedAckFloor)
    {
        var topic = await TopicWithTwoMessagesAsync();
        // Raw position, bypassing StartPosition.AtOffset's check (a client that skips validation).
        await Broker.Client.Admin.SeekAsync(topic, Sub, new StartPosition { Kind = StartKind.Offset, Offset = offset });
        var stats = Assert.Single(await Broker.Client.Admin.GetSubscriptionStatsAsync(topic, Sub));
        Assert.Equal(expectedAckFloor, stats.AckFloor);
        Assert.Equal(2 - expectedAckFloor, stats.Backlog);
        var read = await Partition(Broker, topic).ReadAsync(long.MinValue, 10, 1 << 20);
        Assert.Equal([0L, 1L], read.Messages.Select(m => m.Offset));
        Assert.Empty((await Partition(Broker, topic).ReadAsync(long.MaxValue, 10, 1 << 20)).Messages);
        await AssertStillServingAsync(topic, 2);
    }

    [Fact]
    public async Task Double_ack_is_idempotent_and_ack_after_the_lease_expired_is_DeliveryExpired()
    {
        var topic = await TopicWithTwoMessagesAsync();
        var sub = Subscription(Broker, topic);
        var first = await sub.ReceiveAsync("slow", 1, TimeSpan.FromSeconds(5));
        var stale = Assert.Single(first.Messages);
        Assert.Equal(0, stale.Message.Offset);

        // The lease (30 s ack timeout) runs out; another consumer gets the message again.
        Broker.Time.Advance(TimeSpan.FromSeconds(31));
        var again = await sub.ReceiveAsync("fast", 1, TimeSpan.FromSeconds(5));
        var redelivered = Assert.Single(again.Messages);
        Assert.Equal(0, redelivered.Message.Offset);
        Assert.Equal(2, redelivered.DeliveryCount);

        var ack = await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("slow", [stale.Tag]));
        Assert.Equal(ErrorCode.DeliveryExpired, ack.Code);
        Assert.Contains("0#1", ack.Message);
        Assert.Contains("expired", ack.Message);
        var nack = await Assert.ThrowsAsync<OrleansMQException>(() => sub.NackAsync("slow", [stale.Tag], "late"));
        Assert.Equal(ErrorCode.DeliveryExpired, nack.Code);

        // The current holder's ack counts, twice is harmless, and the stale ack did not ack it.
        await sub.AckAsync("fast", [redelivered.Tag]);
        await sub.AckAsync("fast", [redelivered.Tag]);
        var stats = await sub.GetStatsAsync();
        Assert.Equal(1, stats.AckFloor);
        Assert.Equal(1, stats.Backlog);
        await AssertStillServingAsync(topic, 2);
    }

    private async Task<string> TopicWithTwoMessagesAsync()
    {
        var topic = TestNames.Unique("bad");
        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, Sub, new SubscriptionSpec { Start = StartPosition.Earliest });
        await Broker.Client.PublishAsync(topic, Message.FromText("m0"));
        await Broker.Client.PublishAsync(topic, Message.FromText("m1"));
        return topic;
    }

    // The broker still accepts a valid publish, and every message accepted before (plus that one) reads back in order.
    private async Task AssertStillServingAsync(string topic, int acceptedBefore)
    {
        var receipt = await Broker.Client.PublishAsync(topic, Message.FromText("after"));
        Assert.Equal(acceptedBefore, receipt.Offset);
        var read = await Partition(Broker, topic).ReadAsync(0, 100, 1 << 20);
        Assert.Equal(Enumerable.Range(0, acceptedBefore + 1).Select(i => (long)i), read.Messages.Select(m => m.Offset));
        Assert.Equal("m0", read.Messages[0].BodyAsString());
        Assert.Equal("after", read.Messages[^1].BodyAsString());
    }

    private static ISubscriptionGrain Subscription(BrokerCluster b, string topic) => b.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, Sub));

    private static IPartitionGrain Partition(BrokerCluster b, string topic) => b.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, 0));

    private static async Task ConsumeOneAsync(BrokerCluster b, string topic, ConsumerOptions options, string subscription = Sub)
    {
        await using var consumer = b.Client.CreateConsumer(topic, subscription, options);
        await foreach (var unused in consumer.ConsumeAsync())
        {
            return;
        }
    }

    private static async Task BindAsync(BrokerCluster b, string topic, ExchangeType type, Binding binding)
    {
        var exchange = topic + ".x";
        await b.Client.Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = type });
        await b.Client.Admin.BindAsync(exchange, binding);
    }
}
