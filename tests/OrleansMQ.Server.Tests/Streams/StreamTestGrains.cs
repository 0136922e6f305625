using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;
using OrleansMQ.Streaming;

namespace OrleansMQ.Tests.Streams;

/// <summary>What stream consumers received, by consumer label (in-process cluster: every silo shares it, and it outlives a lost silo).</summary>
public static class StreamProbe
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<Received>> Log = new();

    public static void Record(string label, int value, StreamSequenceToken? token) =>
        Log.GetOrAdd(label, _ => new()).Enqueue(new Received(value, token?.SequenceNumber ?? -1, (token as OrleansMQStreamSequenceToken)?.Timestamp));

    public static IReadOnlyList<Received> Of(string label) => Log.TryGetValue(label, out var q) ? [.. q] : [];

    public readonly record struct Received(int Value, long Offset, DateTimeOffset? Timestamp);
}

public interface IStreamProducerGrain : IGrainWithStringKey
{
    /// <summary>Publishes <paramref name="from"/>, <paramref name="from"/>+1, … (one <c>OnNextAsync</c> each) on a stream.</summary>
    Task ProduceAsync(string streamNamespace, string key, int from, int count);
}

public sealed class StreamProducerGrain : Grain, IStreamProducerGrain
{
    public async Task ProduceAsync(string streamNamespace, string key, int from, int count)
    {
        var stream = this.GetStreamProvider(StreamCluster.Provider).GetStream<int>(StreamId.Create(streamNamespace, key));
        for (var i = from; i < from + count; i++)
        {
            await stream.OnNextAsync(i);
        }
    }
}

public interface IImplicitStreamConsumerGrain : IGrainWithStringKey
{
}

/// <summary>Implicitly subscribed to every stream of <see cref="Namespace"/> whose key is this grain's key; records under <c>implicit/{key}</c>.</summary>
[ImplicitStreamSubscription(Namespace)]
public sealed class ImplicitStreamConsumerGrain : Grain, IImplicitStreamConsumerGrain, IStreamSubscriptionObserver
{
    public const string Namespace = "implicit";

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        var label = $"implicit/{this.GetPrimaryKeyString()}";
        await handleFactory.Create<int>().ResumeAsync((item, token) =>
        {
            StreamProbe.Record(label, item, token);
            return Task.CompletedTask;
        });
    }
}

public interface IExplicitStreamConsumerGrain : IGrainWithStringKey
{
    /// <summary>Subscribes to a stream, from <paramref name="from"/> when given; records under this grain's key.</summary>
    Task SubscribeAsync(string streamNamespace, string key, OrleansMQStreamSequenceToken? from);
}

public sealed class ExplicitStreamConsumerGrain : Grain, IExplicitStreamConsumerGrain
{
    public async Task SubscribeAsync(string streamNamespace, string key, OrleansMQStreamSequenceToken? from)
    {
        var label = this.GetPrimaryKeyString();
        var stream = this.GetStreamProvider(StreamCluster.Provider).GetStream<int>(StreamId.Create(streamNamespace, key));
        Task OnNext(int item, StreamSequenceToken? token)
        {
            StreamProbe.Record(label, item, token);
            return Task.CompletedTask;
        }

        _ = from is null ? await stream.SubscribeAsync(OnNext) : await stream.SubscribeAsync(OnNext, from);
    }
}
