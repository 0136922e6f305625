using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// <see cref="ISubscriptionGrain.ClaimExclusiveAsync"/>: the newest claimant of an Exclusive subscription owns it; an
/// earlier consumer (an Orleans Streams pulling agent on a silo that lost its queue) can no longer receive, ack, nack or
/// move the cursor.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ExclusiveFencingTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    private async Task<ISubscriptionGrain> ExclusiveAsync(string topic, int messages, SubscriptionType type = SubscriptionType.Exclusive)
    {
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 1 });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = type, Start = StartPosition.Earliest });
        await using var producer = Broker.Client.CreateProducer(topic);
        await producer.PublishBatchAsync(Enumerable.Range(0, messages).Select(i => Message.FromText($"m{i}")));
        return Broker.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "s"));
    }

    [Fact]
    public async Task A_stale_consumers_ack_is_rejected_as_fenced_and_does_not_move_the_cursor_after_a_newer_claim()
    {
        var sub = await ExclusiveAsync(TestNames.Unique("fence"), 10);
        var oldEpoch = await sub.ClaimExclusiveAsync("agent-old");
        var taken = (await sub.ReceiveAsync("agent-old", 10, TimeSpan.Zero)).Messages;
        Assert.Equal(10, taken.Count);
        await sub.AckAsync("agent-old", [taken[3].Tag]); // the owner's cumulative ack commits 0..3
        Assert.Equal(4, (await sub.GetStatsAsync()).AckFloor);

        // Rebalancing: the queue moves and the new agent claims the subscription, then seeks back to the committed position.
        var newEpoch = await sub.ClaimExclusiveAsync("agent-new");
        Assert.True(newEpoch > oldEpoch, $"a claim must raise the epoch ({oldEpoch} → {newEpoch})");
        await sub.SeekAsync(StartPosition.AtOffset(4));

        var ack = await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("agent-old", [taken[9].Tag]));
        Assert.Equal(ErrorCode.ConsumerFenced, ack.Code);
        Assert.Contains("agent-new", ack.Message);
        Assert.Equal(4, (await sub.GetStatsAsync()).AckFloor);
        Assert.Equal(ErrorCode.ConsumerFenced, (await Assert.ThrowsAsync<OrleansMQException>(() => sub.ReceiveAsync("agent-old", 10, TimeSpan.Zero))).Code);
        Assert.Equal(ErrorCode.ConsumerFenced, (await Assert.ThrowsAsync<OrleansMQException>(() => sub.NackAsync("agent-old", [taken[5].Tag], "stale"))).Code);

        // The new owner reads from the committed position and commits; the old one still cannot.
        var again = (await sub.ReceiveAsync("agent-new", 10, TimeSpan.Zero)).Messages;
        Assert.Equal(Enumerable.Range(4, 6).Select(i => (long)i), again.Select(d => d.Tag.Offset));
        await sub.AckAsync("agent-new", [again[^1].Tag]);
        Assert.Equal(10, (await sub.GetStatsAsync()).AckFloor);
        Assert.Equal(ErrorCode.ConsumerFenced, (await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("agent-old", [taken[9].Tag]))).Code);
    }

    [Fact]
    public async Task A_fenced_consumer_rejoins_without_taking_over_only_once_the_newer_owner_is_gone()
    {
        var sub = await ExclusiveAsync(TestNames.Unique("fence-rejoin"), 4);
        await sub.ClaimExclusiveAsync("agent-old");
        await sub.ReceiveAsync("agent-old", 4, TimeSpan.Zero);
        var newEpoch = await sub.ClaimExclusiveAsync("agent-new");
        await sub.ReceiveAsync("agent-new", 4, TimeSpan.Zero);

        Assert.Equal(0, await sub.ClaimExclusiveAsync("agent-old", takeOver: false)); // the newer owner is alive
        Assert.Equal(ErrorCode.ConsumerFenced, (await Assert.ThrowsAsync<OrleansMQException>(() => sub.ReceiveAsync("agent-old", 4, TimeSpan.Zero))).Code);

        await sub.CloseConsumerAsync("agent-new"); // e.g. the queue balancer moved the queue back and stopped the newer agent
        var rejoined = await sub.ClaimExclusiveAsync("agent-old", takeOver: false);
        Assert.True(rejoined > newEpoch);
        await sub.SeekAsync(StartPosition.AtOffset((await sub.GetStatsAsync()).AckFloor));
        var again = (await sub.ReceiveAsync("agent-old", 4, TimeSpan.Zero)).Messages;
        Assert.Equal(4, again.Count);
        await sub.AckAsync("agent-old", [again[^1].Tag]);
        Assert.Equal(4, (await sub.GetStatsAsync()).AckFloor);
        Assert.Equal(ErrorCode.ConsumerFenced, (await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("agent-new", [again[^1].Tag]))).Code);
    }

    [Fact]
    public async Task The_owner_and_epoch_survive_reactivation_of_the_cursor()
    {
        var topic = TestNames.Unique("fence-restart");
        var sub = await ExclusiveAsync(topic, 3);
        await sub.ClaimExclusiveAsync("agent-old");
        var taken = (await sub.ReceiveAsync("agent-old", 3, TimeSpan.Zero)).Messages;
        var epoch = await sub.ClaimExclusiveAsync("agent-new");

        // A deactivated cursor reloads its state: the fence is persisted, not only in memory.
        await Broker.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var ack = await Assert.ThrowsAsync<OrleansMQException>(() => sub.AckAsync("agent-old", [taken[^1].Tag]));
        Assert.Equal(ErrorCode.ConsumerFenced, ack.Code);
        Assert.Contains($"epoch {epoch}", ack.Message);
        Assert.Equal(0, (await sub.GetStatsAsync()).AckFloor);
    }

    [Fact]
    public async Task Only_an_exclusive_subscription_can_be_claimed_and_unclaimed_ones_behave_as_before()
    {
        var shared = await ExclusiveAsync(TestNames.Unique("fence-shared"), 2, SubscriptionType.Shared);
        Assert.Equal(ErrorCode.InvalidOperation, (await Assert.ThrowsAsync<OrleansMQException>(() => shared.ClaimExclusiveAsync("x"))).Code);

        var exclusive = await ExclusiveAsync(TestNames.Unique("fence-unclaimed"), 2);
        var got = (await exclusive.ReceiveAsync("plain", 2, TimeSpan.Zero)).Messages;
        await exclusive.AckAsync("plain", [got[^1].Tag]);
        Assert.Equal(2, (await exclusive.GetStatsAsync()).AckFloor);
    }
}
