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
    /// <see cref="LogRecordCodec.EncodeTail"/>, from exactly the values of this record), or empty. A fan-out encodes its
    /// shared message once and every copy's record reuses the bytes instead of encoding them again.
    /// </summary>
    internal ReadOnlyMemory<byte> EncodedTail { get; init; }
}
