using System.Globalization;
using Orleans.Streams;

namespace OrleansMQ.Streaming;

/// <summary>
/// A position in an OrleansMQ stream: the offset of the event's message in its topic partition (a stream lives in one
/// partition), and its time stamp. Pass one to <c>SubscribeAsync(observer, token)</c> or <c>ResumeAsync(observer, token)</c>
/// to rewind: <see cref="AtOffset"/> replays from a partition offset (e.g. a token an observer received earlier),
/// <see cref="AtTime"/> from the first message at or after a time. Positions older than the topic's retention start at
/// the oldest retained message.
/// </summary>
[Serializable, GenerateSerializer, Immutable, Alias("omq.stream-token")]
public sealed class OrleansMQStreamSequenceToken : StreamSequenceToken
{
    /// <summary>Creates a token (used by the serializer; prefer <see cref="AtOffset"/> and <see cref="AtTime"/>).</summary>
    public OrleansMQStreamSequenceToken()
    {
    }

    private OrleansMQStreamSequenceToken(long offset, DateTimeOffset? timestamp)
    {
        SequenceNumber = offset;
        Timestamp = timestamp;
    }

    /// <summary>The partition offset; -1 for a token made by <see cref="AtTime"/> (resolved through the partition's time index).</summary>
    [Id(0)] public override long SequenceNumber { get; protected set; }

    /// <summary>Always 0: every event is one message.</summary>
    [Id(1)] public override int EventIndex { get; protected set; }

    /// <summary>The message's time stamp (producer event time or broker append time), or the requested time of <see cref="AtTime"/>.</summary>
    [Id(2)] public DateTimeOffset? Timestamp { get; private set; }

    /// <summary>The partition offset.</summary>
    public long Offset => SequenceNumber;

    /// <summary>True for a token made by <see cref="AtTime"/>.</summary>
    public bool IsTimeQuery => SequenceNumber < 0;

    /// <summary>A position at a partition offset (≥ 0); delivery starts with the stream's first event at or after it.</summary>
    public static OrleansMQStreamSequenceToken AtOffset(long offset) => offset < 0
        ? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Stream offset {offset} must be ≥ 0.")
        : new(offset, null);

    /// <summary>A position at a time: delivery starts with the stream's first event stamped at or after <paramref name="timestamp"/>.</summary>
    public static OrleansMQStreamSequenceToken AtTime(DateTimeOffset timestamp) => new(-1, timestamp);

    internal static OrleansMQStreamSequenceToken ForMessage(long offset, DateTimeOffset timestamp) => new(offset, timestamp);

    /// <inheritdoc />
    public override bool Equals(StreamSequenceToken? other) =>
        other is not null && other.SequenceNumber == SequenceNumber && other.EventIndex == EventIndex
        && (!IsTimeQuery || (other is OrleansMQStreamSequenceToken t && t.Timestamp == Timestamp));

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is StreamSequenceToken other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => IsTimeQuery ? HashCode.Combine(Timestamp) : HashCode.Combine(SequenceNumber, EventIndex);

    /// <inheritdoc />
    public override int CompareTo(StreamSequenceToken? other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var c = SequenceNumber.CompareTo(other.SequenceNumber);
        return c != 0 ? c : EventIndex.CompareTo(other.EventIndex);
    }

    /// <inheritdoc />
    public override string ToString() => IsTimeQuery
        ? string.Create(CultureInfo.InvariantCulture, $"[time {Timestamp:O}]")
        : string.Create(CultureInfo.InvariantCulture, $"[offset {SequenceNumber}, {Timestamp:O}]");
}
