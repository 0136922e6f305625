using System.Text;

namespace OrleansMQ.Gateway.Http.Contracts;

/// <summary>A message to publish. Set <see cref="Text"/> (UTF-8) or <see cref="Base64"/> (bytes), not both; neither = empty body.</summary>
public record PublishRequest
{
    /// <summary>The body as text (stored as UTF-8).</summary>
    public string? Text { get; init; }

    /// <summary>The body as base64-encoded bytes.</summary>
    public string? Base64 { get; init; }

    /// <summary>Optional key: same key, same partition, so order is kept.</summary>
    public string? Key { get; init; }

    /// <summary>Optional application message id.</summary>
    public string? MessageId { get; init; }

    /// <summary>Optional headers.</summary>
    public Dictionary<string, string>? Headers { get; init; }

    /// <summary>Optional MIME type of the body (default for <see cref="Text"/>: text/plain; charset=utf-8).</summary>
    public string? ContentType { get; init; }

    /// <summary>Optional event time (default: the broker's append time).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    internal Message ToMessage()
    {
        if (Text is not null && Base64 is not null)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, "Set either 'text' or 'base64' as the message body, not both.");
        }

        ReadOnlyMemory<byte> body = ReadOnlyMemory<byte>.Empty;
        if (Text is not null)
        {
            body = Encoding.UTF8.GetBytes(Text);
        }
        else if (Base64 is not null)
        {
            try
            {
                body = Convert.FromBase64String(Base64);
            }
            catch (FormatException)
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument, "'base64' is not valid base64.");
            }
        }

        return new Message(body)
        {
            Key = Key,
            MessageId = MessageId,
            Headers = Headers,
            ContentType = ContentType ?? (Text is not null ? "text/plain; charset=utf-8" : null),
            Timestamp = Timestamp,
        };
    }
}

/// <summary>Several messages to publish to one topic in one request; receipts come back in the same order.</summary>
public sealed record PublishBatchRequest
{
    /// <summary>The messages.</summary>
    public required IReadOnlyList<PublishRequest> Messages { get; init; }
}

/// <summary>A message to publish through an exchange.</summary>
public sealed record ExchangePublishRequest : PublishRequest
{
    /// <summary>The routing key the exchange's bindings match.</summary>
    public string RoutingKey { get; init; } = "";
}

/// <summary>Where a published message was stored (durably, when the response is sent).</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The offset in the partition.</param>
/// <param name="Duplicate">True when the broker had it already (an idempotent retry).</param>
public sealed record PublishResponse(int Partition, long Offset, bool Duplicate);

/// <summary>Receipts of a batch publish, in request order.</summary>
/// <param name="Receipts">One per message.</param>
public sealed record PublishBatchResponse(IReadOnlyList<PublishResponse> Receipts);

/// <summary>Where an exchange routed a message.</summary>
/// <param name="Destinations">One entry per topic or queue it was stored in.</param>
/// <param name="Alternate">True when no binding matched and the exchange's alternate took it.</param>
public sealed record RoutedPublishResponse(IReadOnlyList<RoutedDestination> Destinations, bool Alternate);

/// <summary>One destination of a routed message.</summary>
/// <param name="Topic">The topic or queue.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The offset.</param>
public sealed record RoutedDestination(string Topic, int Partition, long Offset);
