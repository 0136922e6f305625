using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansMQ.Streaming;

/// <summary>One stream event read from a topic partition (one message = one event), as the pulling agent delivers it.</summary>
[Serializable, GenerateSerializer, Immutable, Alias("omq.stream-batch")]
internal sealed class OrleansMQBatchContainer : IBatchContainer
{
    public OrleansMQBatchContainer(StreamId streamId, object? item, OrleansMQStreamSequenceToken token, DeliveryTag tag)
    {
        StreamId = streamId;
        Item = item;
        Token = token;
        Tag = tag;
    }

    [Id(0)] public StreamId StreamId { get; }

    /// <summary>The event, or null for a wake-up marker (see <see cref="IsWakeUp"/>).</summary>
    [Id(1)] public object? Item { get; }

    [Id(2)] public OrleansMQStreamSequenceToken Token { get; }

    /// <summary>The delivery on the provider's subscription (for the cumulative ack once delivered).</summary>
    [Id(3)] public DeliveryTag Tag { get; }

    /// <summary>
    /// A marker with no event: returned by the receiver so that the agent wakes the cursors of its stream after a rewind
    /// was served from the log (the agent restarts idle cursors only for streams that appear in a read).
    /// </summary>
    [Id(4)] public bool IsWakeUp { get; init; }

    public StreamSequenceToken SequenceToken => Token;

    public long Offset => Token.SequenceNumber;

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() =>
        Item is T item ? [Tuple.Create(item, (StreamSequenceToken)Token)] : [];

    public bool ImportRequestContext() => false;

    public override string ToString() => $"{StreamId} {Token}";
}
