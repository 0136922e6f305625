using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using OrleansMQ.Grains;
using OrleansMQ.Server.Grains;
using Orleans.Hosting;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// Every persisted grain state survives a round trip through the serializer the broker's Azure Table state storage uses
/// (cluster mode): a state that cannot be read back breaks a topic, subscription or exchange after a failover. Orleans'
/// default grain-storage serializer (Newtonsoft JSON) failed exactly these cases.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StateSerializationTests(SharedClusterFixture fixture)
{
    private IGrainStorageSerializer Serializer => OrleansMQSiloBuilderExtensions.CreateStateSerializer(
        fixture.Broker.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>());

    private T RoundTrip<T>(T value) => Serializer.Deserialize<T>(Serializer.Serialize(value)) ?? throw new InvalidOperationException("deserialized to null");

    [Fact]
    public void Topic_state_with_subscriptions_transforms_and_subscribers_round_trips()
    {
        var spec = new SubscriptionSpec
        {
            Type = SubscriptionType.KeyShared,
            Start = StartPosition.AtTimestamp(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
            AckTimeout = TimeSpan.FromSeconds(7),
            MaxDeliveries = 4,
            Transforms = [new TransformStep { Type = "set-header", Parameters = new Dictionary<string, string> { ["name"] = "a", ["value"] = "b" } }],
        };
        var state = new TopicState
        {
            Info = new TopicInfo
            {
                Name = "orders",
                Spec = new TopicSpec { Partitions = 3, MessageTtl = TimeSpan.FromMinutes(5), DeduplicationWindow = TimeSpan.FromMinutes(1) },
                Subscriptions = new Dictionary<string, SubscriptionSpec> { ["s"] = spec },
                CreatedAt = DateTimeOffset.UnixEpoch,
                Incarnation = Guid.NewGuid(),
            },
            Subscribers = new(StringComparer.Ordinal) { ["s"] = fixture.Broker.Grains.GetGrain<IRecordingSubscriberGrain>("c1") },
            RedriveOffsets = new(StringComparer.Ordinal) { ["s"] = 42 },
        };

        var back = RoundTrip(state);

        Assert.Equal(state.Info, back.Info! with { Subscriptions = state.Info!.Subscriptions });
        Assert.Equal(spec, back.Info!.Subscriptions["s"]);
        Assert.Equal(state.Subscribers["s"].GetGrainId(), back.Subscribers["s"].GetGrainId());
        Assert.Equal(42, back.RedriveOffsets["s"]);
    }

    [Fact]
    public void Cursor_state_with_acks_and_delivery_counts_round_trips()
    {
        var state = new CursorState { Incarnation = Guid.NewGuid(), Initialized = true, AckFloor = 17, AckedAbove = [19, 23], DeliveryCounts = new() { [18] = 3 }, DeadLettered = 2 };

        var back = RoundTrip(state);

        Assert.Equal((state.Incarnation, state.AckFloor, state.DeadLettered), (back.Incarnation, back.AckFloor, back.DeadLettered));
        Assert.Equal(state.AckedAbove.Order(), back.AckedAbove.Order());
        Assert.Equal(3, back.DeliveryCounts[18]);
    }

    [Fact]
    public void Exchange_state_with_bindings_filters_and_transforms_round_trips()
    {
        var info = new ExchangeInfo
        {
            Name = "shop",
            Spec = new ExchangeSpec { Type = ExchangeType.Headers },
            Bindings =
            [
                new Binding { Destination = "orders-eu", Key = "orders.eu.#", Filter = "headers.region == 'eu'", Headers = new Dictionary<string, string> { ["x"] = "1" },
                    Transforms = [new TransformStep { Type = "cloudevents-wrap" }] },
            ],
        };

        var back = RoundTrip(new ExchangeState { Info = info });

        Assert.Equal(info.Name, back.Info!.Name);
        Assert.Equal(info.Spec, back.Info.Spec);
        var binding = Assert.Single(back.Info.Bindings);
        Assert.Equal(info.Bindings[0].Filter, binding.Filter);
        Assert.Equal("1", binding.Headers!["x"]);
        Assert.Equal("cloudevents-wrap", Assert.Single(binding.Transforms!).Type);
    }
}
