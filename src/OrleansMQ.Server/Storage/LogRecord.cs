namespace OrleansMQ.Server.Storage;

/// <summary>One record of a partition log.</summary>
public sealed class LogRecord
{
    /// <summary>The offset. Assigned by the log on append (any input value is ignored).</summary>
    public long Offset { get; set; }

    /// <summary>The record's time stamp (producer event time or broker append time).</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The message key.</summary>
    public string? Key { get; init; }

    /// <summary>The message id.</summary>
    public string? MessageId { get; init; }

    /// <summary>The content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>Headers; null or empty when none.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The idempotent producer that appended the record, if any (kept so producer state can be rebuilt on recovery).</summary>
    public string? ProducerId { get; init; }

    /// <summary>The producer's sequence number for this record (meaningful only with <see cref="ProducerId"/>).</summary>
    public long Sequence { get; init; }

    /// <summary>
    /// The record's key, message id, content type, producer id, headers and body already encoded (by
    /// <see cref="LogRecordCodec.EncodeTail"/>, from exactly the values of this record), or empty: the bytes of
    /// <see cref="Shared"/>. A fan-out encodes its shared message once and every copy's record reuses the bytes instead
    /// of encoding them again.
    /// </summary>
    internal ReadOnlyMemory<byte> EncodedTail
    {
        get => Shared?.Bytes ?? default;
        init => Shared = value.IsEmpty ? null : new OrleansMQ.Grains.SharedTail(value);
    }

    /// <summary>
    /// The fan-out's shared message this record is a copy of, when the router sent it unchanged to more than one
    /// destination: the file log may then store it once (<see cref="FanOutStore"/>) and write a reference record.
    /// </summary>
    internal OrleansMQ.Grains.SharedTail? Shared { get; init; }

    /// <summary>
    /// Set by the file log when this record is written as a reference: the fan-out store record holding
    /// <see cref="Shared"/> (-1: written in full).
    /// </summary>
    internal long StoreOffset { get; set; } = -1;
}

/// <summary>Where a reference record's key-to-body part is: a record of the fan-out store, its length and CRC-32C.</summary>
internal readonly record struct StoreReference(long StoreOffset, int TailLength, uint TailCrc);
