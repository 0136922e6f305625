namespace OrleansMQ.Gateway.Http.Contracts;

/// <summary>Deliveries handed to an HTTP consumer. Ack or nack each by its <see cref="DeliveryResponse.DeliveryId"/>.</summary>
/// <param name="ConsumerId">The consumer id; send it again (header OMQ-Consumer-Id or query consumer) to keep using the same session.</param>
/// <param name="Deliveries">The deliveries, in order per partition; empty when none arrived within the wait.</param>
public sealed record ReceiveResponse(string ConsumerId, IReadOnlyList<DeliveryResponse> Deliveries);

/// <summary>One delivery of a message.</summary>
public sealed record DeliveryResponse
{
    /// <summary>Identifies this delivery in ack/nack: partition, offset and attempt.</summary>
    public required string DeliveryId { get; init; }

    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The partition.</summary>
    public int Partition { get; init; }

    /// <summary>The offset.</summary>
    public long Offset { get; init; }

    /// <summary>How many times the message was delivered on this subscription, this time included.</summary>
    public int DeliveryCount { get; init; }

    /// <summary>True when it was delivered before.</summary>
    public bool Redelivered { get; init; }

    /// <summary>The message in its stored form.</summary>
    public required MessageResponse Message { get; init; }
}

/// <summary>A stored message. The body is in <see cref="Text"/> when it is valid UTF-8 (unless base64 was asked for), else in <see cref="Base64"/>.</summary>
public sealed record MessageResponse
{
    /// <summary>The partition.</summary>
    public int Partition { get; init; }

    /// <summary>The offset.</summary>
    public long Offset { get; init; }

    /// <summary>The key.</summary>
    public string? Key { get; init; }

    /// <summary>The application message id.</summary>
    public string? MessageId { get; init; }

    /// <summary>The content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>The event or append time.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The headers.</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>The body as text.</summary>
    public string? Text { get; init; }

    /// <summary>The body as base64.</summary>
    public string? Base64 { get; init; }

    internal static MessageResponse From(StoredMessage m, bool forceBase64)
    {
        var body = m.Body.Span;
        var asText = !forceBase64 && LooksLikeText(body);
        return new MessageResponse
        {
            Partition = m.Partition,
            Offset = m.Offset,
            Key = m.Key,
            MessageId = m.MessageId,
            ContentType = m.ContentType,
            Timestamp = m.Timestamp,
            Headers = m.Headers,
            Text = asText ? System.Text.Encoding.UTF8.GetString(body) : null,
            Base64 = asText ? null : Convert.ToBase64String(body),
        };
    }

    /// <summary>Valid UTF-8 without control characters other than tab, CR and LF.</summary>
    private static bool LooksLikeText(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if ((b < 0x20 && b is not (byte)'\t' and not (byte)'\r' and not (byte)'\n') || b == 0x7F)
            {
                return false;
            }
        }

        return System.Text.Unicode.Utf8.IsValid(body);
    }
}

/// <summary>Deliveries to acknowledge.</summary>
public sealed record AckRequest
{
    /// <summary>Delivery ids from a receive.</summary>
    public required IReadOnlyList<string> Ids { get; init; }
}

/// <summary>Deliveries to negatively acknowledge (redelivered after the backoff, or dead-lettered after max deliveries).</summary>
public sealed record NackRequest
{
    /// <summary>Delivery ids from a receive.</summary>
    public required IReadOnlyList<string> Ids { get; init; }

    /// <summary>Why (kept as the dead-letter reason).</summary>
    public string? Reason { get; init; }
}

/// <summary>A page of a subscription's dead-letter topic.</summary>
/// <param name="Topic">The dead-letter topic.</param>
/// <param name="Messages">The messages, oldest first; each carries the omq-dlq-reason and omq-original-* headers.</param>
/// <param name="Next">The offset to pass as <c>from</c> for the next page.</param>
public sealed record DeadLetterPage(string Topic, IReadOnlyList<MessageResponse> Messages, long Next);

/// <summary>The result of a re-drive.</summary>
/// <param name="Moved">How many messages went back to the topic.</param>
public sealed record RedriveResponse(int Moved);
