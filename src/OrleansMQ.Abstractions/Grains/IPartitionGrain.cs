using Orleans.Concurrency;

namespace OrleansMQ.Grains;

/// <summary>One partition of a topic: owns the durable log. Keyed <c>{topic}/{partition}</c> (see <see cref="GrainKeys"/>).</summary>
[Alias("omq.IPartitionGrain")]
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>Appends a batch durably (group-committed) and returns one receipt per message, in order.</summary>
    [Alias("Append")]
    Task<PublishReceipt[]> AppendAsync(AppendRequest request);

    /// <summary>Reads up to <paramref name="maxMessages"/> messages (and about <paramref name="maxBytes"/>) starting at <paramref name="fromOffset"/>.</summary>
    [Alias("Read")]
    Task<ReadResult> ReadAsync(long fromOffset, int maxMessages, int maxBytes);

    /// <summary>Offsets, size and backlog.</summary>
    [Alias("Info")]
    Task<PartitionInfo> GetInfoAsync();

    /// <summary>The first offset whose timestamp is at or after <paramref name="timestamp"/> (the high watermark when none is).</summary>
    [Alias("FindOffset")]
    Task<long> FindOffsetAsync(DateTimeOffset timestamp);

    /// <summary>A subscription reports its ack floor, for backlog limits and acknowledged-based retention.</summary>
    [Alias("ReportAckFloor"), OneWay]
    Task ReportAckFloorAsync(string subscription, long ackFloor);

    /// <summary>The topic's definition or subscriptions changed.</summary>
    [Alias("TopicChanged")]
    Task TopicChangedAsync(TopicInfo topic);

    /// <summary>Deletes the partition's data and deactivates.</summary>
    [Alias("Delete")]
    Task DeleteAsync();
}

/// <summary>A batch to append. With a <see cref="ProducerId"/>, message i carries sequence <see cref="FirstSequence"/> + i and duplicates are detected.</summary>
[GenerateSerializer, Immutable, Alias("omq.append")]
public sealed record AppendRequest
{
    /// <summary>The messages, in order.</summary>
    [Id(0)] public required IReadOnlyList<Message> Messages { get; init; }

    /// <summary>The idempotent producer id, or null for a plain append.</summary>
    [Id(1)] public string? ProducerId { get; init; }

    /// <summary>The sequence number of the first message (per producer and partition, starting at 0).</summary>
    [Id(2)] public long FirstSequence { get; init; }

    /// <summary>
    /// Work the broker's router already did for this batch, handed to a partition in the same silo. Never serialized:
    /// a request that crossed a process boundary (or came from anyone but the router) arrives without it and is
    /// checked and encoded in full.
    /// </summary>
    [field: NonSerialized]
    internal AppendHints? Hints { get; init; }
}

/// <summary>What a router already did for an <see cref="AppendRequest"/> (in process only; see <see cref="AppendRequest.Hints"/>).</summary>
internal sealed class AppendHints
{
    /// <summary>Every message was validated against this message size limit (0: not validated).</summary>
    public int ValidatedMaxBytes { get; init; }

    /// <summary>
    /// Per message (in order; entries may be null) the fan-out's shared message: its log encoding from key to body, with
    /// no producer id, shared by every destination of a fan-out so each copy does not encode (or store) it again.
    /// </summary>
    public SharedTail?[]? SharedTails { get; init; }

    /// <summary>
    /// Set by the partition: the receipts, handed back by reference. The call itself then returns an empty array, so
    /// Orleans does not deep-copy one receipt per message for a caller in the same silo.
    /// </summary>
    public PublishReceipt[]? Receipts { get; set; }

    /// <summary>
    /// Set by the partition instead of <see cref="Receipts"/> when it appended every message of the batch as new (no
    /// duplicate): message i is at this offset + i. -1 otherwise.
    /// </summary>
    public long FirstOffset { get; set; } = -1;
}

/// <summary>
/// A message a router sends unchanged to more than one destination, encoded once (key to body) for every copy's log
/// record. The first file log to append a copy stores it in its fan-out store and notes where, so the other copies are
/// written as references (in process only).
/// </summary>
internal sealed class SharedTail(ReadOnlyMemory<byte> bytes)
{
    /// <summary>The encoded key-to-body part.</summary>
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    /// <summary>Where a file log's fan-out store holds it (-1: not yet); guarded by the store.</summary>
    public long StoreOffset { get; set; } = -1;

    /// <summary>The store that holds it (null: none yet); guarded by the store.</summary>
    public object? Store { get; set; }

    /// <summary>CRC-32C of <see cref="Bytes"/> (null: not computed yet; the router computes it once, off any lock).</summary>
    public uint? Crc { get; set; }
}

/// <summary>A range of messages read from a partition.</summary>
[GenerateSerializer, Immutable, Alias("omq.read")]
public sealed record ReadResult
{
    /// <summary>The messages, in offset order (may skip offsets only below the low watermark).</summary>
    [Id(0)] public required IReadOnlyList<StoredMessage> Messages { get; init; }

    /// <summary>The first retained offset.</summary>
    [Id(1)] public long LowWatermark { get; init; }

    /// <summary>One past the last offset.</summary>
    [Id(2)] public long HighWatermark { get; init; }
}
