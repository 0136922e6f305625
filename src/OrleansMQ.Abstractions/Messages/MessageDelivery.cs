using System.Globalization;

namespace OrleansMQ;

/// <summary>Delivery options carried as headers (so every protocol and storage backend keeps them): delay, TTL, priority, reply-to.</summary>
public static class MessageDelivery
{
    /// <summary>Highest priority.</summary>
    public const int MaxPriority = 9;

    /// <summary>Delivers the message no earlier than <paramref name="delay"/> after its time stamp (Shared/KeyShared subscriptions; durable, no upper bound).</summary>
    public static Message WithDelay(this Message message, TimeSpan delay) =>
        delay < TimeSpan.Zero ? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Delay {delay} must not be negative.")
            : message.WithHeader(Headers.DelayMs, ((long)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));

    /// <summary>Delivers the message no earlier than <paramref name="deliverAt"/> (Shared/KeyShared subscriptions).</summary>
    public static Message WithDeliverAt(this Message message, DateTimeOffset deliverAt) =>
        message.WithHeader(Headers.DeliverAt, deliverAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    /// <summary>The message expires <paramref name="ttl"/> after its time stamp; expired messages are dropped or dead-lettered (per topic).</summary>
    public static Message WithTimeToLive(this Message message, TimeSpan ttl) =>
        ttl <= TimeSpan.Zero ? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Time-to-live {ttl} must be positive.")
            : message.WithHeader(Headers.TimeToLiveMs, ((long)ttl.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));

    /// <summary>Priority 0–9 (9 first) for Shared subscriptions.</summary>
    public static Message WithPriority(this Message message, int priority) =>
        priority is < 0 or > MaxPriority ? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Priority {priority} must be 0–{MaxPriority}.")
            : message.WithHeader(Headers.Priority, priority.ToString(CultureInfo.InvariantCulture));

    /// <summary>Adds or replaces one header.</summary>
    public static Message WithHeader(this Message message, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = message.Headers is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(message.Headers, StringComparer.Ordinal);
        headers[name] = value;
        return message with { Headers = headers };
    }

    /// <summary>When the message may be delivered (its time stamp when not delayed).</summary>
    public static DateTimeOffset DeliverAt(this StoredMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Long(message, Headers.DeliverAt) is { } at)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(at);
        }

        return Long(message, Headers.DelayMs) is { } delay ? message.Timestamp.AddMilliseconds(delay) : message.Timestamp;
    }

    /// <summary>When the message expires: its own TTL, else <paramref name="topicTtl"/>; null = never.</summary>
    public static DateTimeOffset? ExpiresAt(this StoredMessage message, TimeSpan? topicTtl = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Long(message, Headers.TimeToLiveMs) is { } ttl ? message.Timestamp.AddMilliseconds(ttl)
            : topicTtl is { } t ? message.Timestamp + t : null;
    }

    /// <summary>The priority 0–9 (0 when absent).</summary>
    public static int Priority(this StoredMessage message) =>
        Long(message, Headers.Priority) is { } p and >= 0 and <= MaxPriority ? (int)p : 0;

    /// <summary>Checks the value of a delivery header (delay, deliver-at, TTL, priority); other headers pass.</summary>
    internal static void ValidateHeader(string name, string? text, string topic)
    {
        var priority = name == Headers.Priority;
        if (!priority && name != Headers.DelayMs && name != Headers.DeliverAt && name != Headers.TimeToLiveMs)
        {
            return;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || (priority && value > MaxPriority))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Message for topic '{topic}': header '{name}' is '{text}'; it must be a non-negative integer{(priority ? $" ≤ {MaxPriority}" : "")}.");
        }
    }

    private static long? Long(StoredMessage message, string header) =>
        message.Headers.TryGetValue(header, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
}
