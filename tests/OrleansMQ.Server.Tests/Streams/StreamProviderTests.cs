using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using OrleansMQ.Client;
using OrleansMQ.Streaming;
using OrleansMQ.Tests.Cluster;

namespace OrleansMQ.Tests.Streams;

/// <summary>The OrleansMQ Orleans Streams provider on a two-silo cluster: delivery, order, rewind, interop.</summary>
public sealed class StreamProviderTests(StreamClusterFixture fixture) : IClassFixture<StreamClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly StreamCluster _streams = fixture.Streams;

    [Fact]
    public async Task Events_produced_by_a_grain_reach_the_implicit_subscriber_in_order()
    {
        var key = TestNames.Unique("imp");
        await _streams.Orleans.GetGrain<IStreamProducerGrain>(key).ProduceAsync(ImplicitStreamConsumerGrain.Namespace, key, 0, 50);

        var received = await WaitForAsync($"implicit/{key}", 50);
        Assert.Equal(Enumerable.Range(0, 50), received.Select(r => r.Value));
        Assert.True(received.Zip(received.Skip(1)).All(p => p.First.Offset < p.Second.Offset), "offsets increase along the stream");
    }

    [Fact]
    public async Task Events_produced_by_the_client_reach_explicit_grain_and_client_subscribers_in_order()
    {
        var key = TestNames.Unique("exp");
        var grainLabel = TestNames.Unique("grain-sub");
        await _streams.Orleans.GetGrain<IExplicitStreamConsumerGrain>(grainLabel).SubscribeAsync("explicit", key, null);
        var stream = _streams.Orleans.GetStreamProvider(StreamCluster.Provider).GetStream<int>(StreamId.Create("explicit", key));
        var clientLabel = TestNames.Unique("client-sub");
        var handle = await stream.SubscribeAsync((item, token) =>
        {
            StreamProbe.Record(clientLabel, item, token);
            return Task.CompletedTask;
        });

        for (var i = 0; i < 40; i++)
        {
            await stream.OnNextAsync(i);
        }

        Assert.Equal(Enumerable.Range(0, 40), (await WaitForAsync(grainLabel, 40)).Select(r => r.Value));
        Assert.Equal(Enumerable.Range(0, 40), (await WaitForAsync(clientLabel, 40)).Select(r => r.Value));
        await handle.UnsubscribeAsync();
    }

    [Fact]
    public async Task Subscribing_with_an_offset_token_replays_from_the_log_after_the_cache_let_go()
    {
        var key = TestNames.Unique("rewind");
        var first = TestNames.Unique("first");
        await _streams.Orleans.GetGrain<IExplicitStreamConsumerGrain>(first).SubscribeAsync("explicit", key, null);
        await _streams.Orleans.GetGrain<IStreamProducerGrain>(key).ProduceAsync("explicit", key, 0, 100);
        var original = await WaitForAsync(first, 100);

        // Everything delivered and acknowledged: the agents' caches no longer hold these events, only the log does.
        await _streams.AllCommittedAsync();

        var from = original[40];
        var rewinder = TestNames.Unique("rewinder");
        await _streams.Orleans.GetGrain<IExplicitStreamConsumerGrain>(rewinder).SubscribeAsync("explicit", key, OrleansMQStreamSequenceToken.AtOffset(from.Offset));
        var replayed = await WaitForAsync(rewinder, 60);
        Assert.Equal(Enumerable.Range(40, 60), replayed.Select(r => r.Value));
        Assert.Equal(original.Skip(40).Select(r => r.Offset), replayed.Select(r => r.Offset));

        // The rewound subscription is live afterwards: new events follow the replay.
        await _streams.Orleans.GetGrain<IStreamProducerGrain>(key).ProduceAsync("explicit", key, 100, 5);
        Assert.Equal(Enumerable.Range(40, 65), (await WaitForAsync(rewinder, 65)).Select(r => r.Value));
        Assert.Equal(Enumerable.Range(0, 105), (await WaitForAsync(first, 105)).Select(r => r.Value));
    }

    [Fact]
    public async Task Subscribing_at_a_time_replays_from_the_first_event_at_or_after_it()
    {
        var key = TestNames.Unique("time");
        var producer = _streams.Orleans.GetGrain<IStreamProducerGrain>(key);
        await producer.ProduceAsync("explicit", key, 0, 10);
        _streams.Time.Advance(TimeSpan.FromMinutes(1));
        var cut = _streams.Time.GetUtcNow();
        _streams.Time.Advance(TimeSpan.FromMinutes(1));
        await producer.ProduceAsync("explicit", key, 10, 10);
        await _streams.AllCommittedAsync();

        var label = TestNames.Unique("at-time");
        await _streams.Orleans.GetGrain<IExplicitStreamConsumerGrain>(label).SubscribeAsync("explicit", key, OrleansMQStreamSequenceToken.AtTime(cut));
        var replayed = await WaitForAsync(label, 10);
        Assert.Equal(Enumerable.Range(10, 10), replayed.Select(r => r.Value));
        Assert.All(replayed, r => Assert.True(r.Timestamp > cut, $"event {r.Value} stamped {r.Timestamp:O} is after {cut:O}"));
    }

    [Fact]
    public async Task Stream_events_are_ordinary_topic_messages_for_an_OrleansMQ_consumer()
    {
        var key = TestNames.Unique("interop");
        await _streams.Orleans.GetGrain<IStreamProducerGrain>(key).ProduceAsync("interop", key, 0, 5);

        var subscription = TestNames.Unique("reader");
        await using var consumer = _streams.Client.CreateConsumer(_streams.Topic, subscription, new ConsumerOptions
        {
            CreateIfMissing = new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest },
        });
        var serializer = _streams.Orleans.ServiceProvider.GetRequiredService<Serializer>();
        var values = new List<int>();
        using var cts = new CancellationTokenSource(Deadline);
        await foreach (var delivery in consumer.ConsumeAsync(cts.Token))
        {
            await delivery.AckAsync();
            var m = delivery.Message;
            if (m.Headers.GetValueOrDefault(StreamMessageHeaders.Key) != key)
            {
                continue;
            }

            Assert.Equal("interop", m.Headers[StreamMessageHeaders.Namespace]);
            Assert.Equal(StreamMessageHeaders.ContentType, m.ContentType);
            Assert.Equal($"interop/{key}", m.Key);
            values.Add(serializer.Deserialize<object?>(m.Body.Span) is int v ? v : -1);
            if (values.Count == 5)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 5), values);
    }

    private static Task<IReadOnlyList<StreamProbe.Received>> WaitForAsync(string label, int count) =>
        Eventually.ReturnsAsync(() => Task.FromResult(StreamProbe.Of(label)), r => r.Count >= count, Deadline, $"{count} events for {label}");
}
