namespace OrleansMQ;

/// <summary>Fixed protocol limits (the per-topic message size limit lives in <see cref="TopicSpec.MaxMessageBytes"/>).</summary>
public static class MessageLimits
{
    /// <summary>Default maximum size of one message (body + headers + key + id), in bytes: 1 MiB.</summary>
    public const int DefaultMaxMessageBytes = 1024 * 1024;

    /// <summary>Hard upper bound for <see cref="TopicSpec.MaxMessageBytes"/>: 16 MiB.</summary>
    public const int AbsoluteMaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>Maximum number of headers on one message.</summary>
    public const int MaxHeaders = 64;

    /// <summary>Maximum UTF-16 length of one header name or value, a key, a message id or a content type.</summary>
    public const int MaxHeaderFieldLength = 4096;

    /// <summary>The size a message occupies against <see cref="TopicSpec.MaxMessageBytes"/>: body, key, id, content type and headers (UTF-8).</summary>
    public static int SizeOf(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = message.Body.Length + Utf8(message.Key) + Utf8(message.MessageId) + Utf8(message.ContentType);
        switch (message.Headers)
        {
            case Dictionary<string, string> dictionary: // the usual type: a struct enumerator, no allocation
                foreach (var (k, v) in dictionary)
                {
                    size += Utf8(k) + Utf8(v);
                }

                break;
            case { } headers:
                foreach (var (k, v) in headers)
                {
                    size += Utf8(k) + Utf8(v);
                }

                break;
        }

        return size;
    }

    /// <summary>Validates field limits and size. Throws <see cref="OrleansMQException"/> with the offending value and the limit.</summary>
    /// <remarks>One pass over the headers, allocating nothing unless it throws: every publish runs it, on the client and in the partition.</remarks>
    public static void Validate(Message message, string topic, int maxMessageBytes)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckField(message.Key, "key", topic);
        CheckField(message.MessageId, "message id", topic);
        CheckField(message.ContentType, "content type", topic);
        var size = message.Body.Length + Utf8(message.Key) + Utf8(message.MessageId) + Utf8(message.ContentType);
        if (message.Headers is { } headers)
        {
            if (headers.Count > MaxHeaders)
            {
                throw new OrleansMQException(ErrorCode.HeadersTooLarge,
                    $"Message for topic '{topic}' has {headers.Count} headers; the limit is {MaxHeaders}.");
            }

            if (headers is Dictionary<string, string> dictionary)
            {
                foreach (var (k, v) in dictionary)
                {
                    size += CheckHeader(k, v, topic);
                }
            }
            else
            {
                foreach (var (k, v) in headers)
                {
                    size += CheckHeader(k, v, topic);
                }
            }
        }

        if (size > maxMessageBytes)
        {
            throw new OrleansMQException(ErrorCode.MessageTooLarge,
                $"Message for topic '{topic}' is {size} bytes; the limit is {maxMessageBytes} bytes.");
        }
    }

    // Checks one header (name, lengths, the value of a delivery header) and returns its UTF-8 size.
    private static int CheckHeader(string name, string? value, string topic)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Message for topic '{topic}' has an empty header name.");
        }

        CheckField(name, "header name", topic);
        if (value is { Length: > MaxHeaderFieldLength })
        {
            throw new OrleansMQException(ErrorCode.HeadersTooLarge,
                $"Message for topic '{topic}': header '{name}' is {value.Length} characters; the limit is {MaxHeaderFieldLength}.");
        }

        MessageDelivery.ValidateHeader(name, value, topic);
        return Utf8(name) + Utf8(value);
    }

    private static void CheckField(string? value, string what, string topic)
    {
        if (value is { Length: > MaxHeaderFieldLength })
        {
            throw new OrleansMQException(ErrorCode.HeadersTooLarge,
                $"Message for topic '{topic}': {what} is {value.Length} characters; the limit is {MaxHeaderFieldLength}.");
        }
    }

    private static int Utf8(string? s) => s is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(s);
}
