namespace OrleansMQ;

/// <summary>A message as it is stored in a partition log and read back: the published fields plus its position.</summary>
[GenerateSerializer, Immutable, Alias("omq.stored")]
public sealed record StoredMessage
{
    /// <summary>The topic the message was appended to.</summary>
    [Id(0)] public required string Topic { get; init; }

    /// <summary>The partition index.</summary>
    [Id(1)] public int Partition { get; init; }

    /// <summary>The dense, monotonic offset within the partition.</summary>
    [Id(2)] public long Offset { get; init; }

    /// <summary>The time stamp: the producer's event time, or the broker's append time.</summary>
    [Id(3)] public DateTimeOffset Timestamp { get; init; }

    /// <summary>The message key, if any.</summary>
    [Id(4)] public string? Key { get; init; }

    /// <summary>The message id.</summary>
    [Id(5)] public string? MessageId { get; init; }

    /// <summary>The headers (never null; empty when none were sent).</summary>
    [Id(6)] public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyHeaders;

    /// <summary>The content type, if any.</summary>
    [Id(7)] public string? ContentType { get; init; }

    /// <summary>The payload.</summary>
    [Id(8)] public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyAsString() => System.Text.Encoding.UTF8.GetString(Body.Span);

    internal static readonly IReadOnlyDictionary<string, string> EmptyHeaders = new Dictionary<string, string>();
}
