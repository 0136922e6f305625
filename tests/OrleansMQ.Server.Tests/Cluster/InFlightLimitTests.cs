using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// <see cref="Server.Hosting.OrleansMQServerOptions.MaxInFlightPerSubscription"/>: however consumers ask (many of them,
/// big receives, consumers that never ack), one subscription partition never holds more leased deliveries than the
/// limit, and acks, nacks and lease expiry free room again. Asserted on counts (the subscription's in-flight stat),
/// not on memory or time.
/// </summary>
public sealed class InFlightLimitTests : IAsyncLifetime
{
    private const int Limit = 10;
    private BrokerCluster _broker = null!;

    public async Task InitializeAsync() => _broker = await BrokerCluster.StartAsync(silos: 1, configure: o => o.MaxInFlightPerSubscription = Limit);

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _broker.DeleteData();
    }

    [Fact]
    public async Task Receives_beyond_the_limit_get_nothing_until_acks_nacks_or_expiry_free_room()
    {
        var topic = await TopicAsync(30);
        var sub = _broker.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "s"));

        var a = (await sub.ReceiveAsync("a", 8, TimeSpan.Zero)).Messages;
        var b = (await sub.ReceiveAsync("b", 10_000, TimeSpan.Zero)).Messages;
        Assert.Equal(8, a.Count);
        Assert.Equal(2, b.Count); // only the room left under the limit
        Assert.Empty((await sub.ReceiveAsync("c", 100, TimeSpan.Zero)).Messages);
        Assert.Empty((await sub.ReceiveAsync("b", 100, TimeSpan.Zero)).Messages);
        Assert.Equal(Limit, (await sub.GetStatsAsync()).InFlight);

        // Acks free room; a waiting long-poll is woken by them.
        var waiting = sub.ReceiveAsync("c", 100, TimeSpan.FromSeconds(2));
        await sub.AckAsync("a", [.. a.Take(3).Select(d => d.Tag)]);
        Assert.Equal(3, (await waiting).Messages.Count);
        Assert.Equal(Limit, (await sub.GetStatsAsync()).InFlight);

        // A nack frees room too (the nacked message waits for its backoff).
        await sub.NackAsync("b", [b[0].Tag], "no");
        Assert.Single((await sub.ReceiveAsync("c", 100, TimeSpan.Zero)).Messages);
        Assert.Equal(Limit, (await sub.GetStatsAsync()).InFlight);

        // Consumers that never ack: their leases expire (30 s ack timeout) and the room goes to others.
        _broker.Time.Advance(TimeSpan.FromSeconds(31));
        var after = (await sub.ReceiveAsync("d", 100, TimeSpan.Zero)).Messages;
        Assert.Equal(Limit, after.Count);
        Assert.Equal(Limit, (await sub.GetStatsAsync()).InFlight);
    }

    [Fact]
    public async Task Many_greedy_consumers_never_push_in_flight_over_the_limit_and_every_message_is_delivered()
    {
        const int messages = 60;
        var topic = await TopicAsync(messages);
        var sub = _broker.Grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, 0, "s"));
        var random = new Random(42);
        var held = new List<DeliveredMessage>();
        var acked = new HashSet<long>();
        var maxSeen = 0;
        for (var round = 0; acked.Count < messages; round++)
        {
            Assert.True(round < 1000, $"only {acked.Count} of {messages} acked after 1000 rounds");
            var consumer = $"c{random.Next(5)}";
            held.AddRange((await sub.ReceiveAsync(consumer, random.Next(1, 50), TimeSpan.Zero)).Messages);
            var inFlight = (await sub.GetStatsAsync()).InFlight;
            maxSeen = Math.Max(maxSeen, inFlight);
            Assert.InRange(inFlight, 0, Limit);
            Assert.InRange(held.Count, 0, Limit);

            // Ack a random part of what is held (sometimes nothing).
            var toAck = held.Where(_ => random.Next(3) == 0).ToList();
            if (toAck.Count > 0)
            {
                await sub.AckAsync("any", [.. toAck.Select(d => d.Tag)]);
                held.RemoveAll(toAck.Contains);
                acked.UnionWith(toAck.Select(d => d.Message.Offset));
            }
        }

        Assert.Equal(Limit, maxSeen);
        Assert.Equal(Enumerable.Range(0, messages).Select(i => (long)i), acked.Order());
        Assert.Equal(0, (await sub.GetStatsAsync()).Backlog);
    }

    [Fact]
    public async Task A_client_consumer_whose_prefetch_is_above_the_limit_is_held_to_the_limit()
    {
        var topic = await TopicAsync(25);
        await using var consumer = _broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { Prefetch = 100, PollWait = TimeSpan.FromMilliseconds(200) });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var first = await Eventually.TakeAsync(e, Limit);
        await Eventually.ReturnsAsync(() => _broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s[0].InFlight == Limit);

        foreach (var d in first)
        {
            await d.AckAsync();
        }

        var rest = await Eventually.TakeAsync(e, 15, ack: true);
        Assert.Equal(Enumerable.Range(Limit, 15).Select(i => $"m{i}"), rest.Select(d => d.BodyAsString()));
        var stats = await Eventually.ReturnsAsync(() => _broker.Client.Admin.GetSubscriptionStatsAsync(topic, "s"), s => s[0].Backlog == 0);
        Assert.InRange(stats[0].InFlight, 0, Limit);
    }

    private async Task<string> TopicAsync(int messages)
    {
        var topic = TestNames.Unique("inflight");
        await _broker.Client.Admin.CreateTopicAsync(topic);
        await _broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using var producer = _broker.Client.CreateProducer(topic);
        await producer.PublishBatchAsync(Enumerable.Range(0, messages).Select(i => Message.FromText($"m{i}")));
        return topic;
    }
}
