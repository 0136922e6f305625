using System.Globalization;
using System.Text;
using System.Text.Unicode;
using OrleansMQ.Cli.Parsing;

namespace OrleansMQ.Cli.Views;

/// <summary>Turns the broker's records into the CLI's views.</summary>
internal static class ViewMapper
{
    public static string Kind(TopicInfo topic) => topic.Spec.IsQueue ? "queue" : "topic";

    public static TopicSpecView Spec(TopicSpec spec) => new(
        spec.Partitions,
        spec.Retention.MaxAge is { } age ? Durations.Format(age) : null,
        spec.Retention.MaxBytes,
        spec.Retention.UntilAcknowledged,
        spec.MaxMessageBytes,
        spec.MaxBacklogMessages,
        spec.MaxBacklogBytes,
        spec.DeduplicationWindow is { } window ? Durations.Format(window) : null,
        spec.MessageTtl is { } ttl ? Durations.Format(ttl) : null,
        spec.ExpiredToDeadLetter);

    public static SubscriptionSpecView Spec(string topic, string subscription, SubscriptionSpec spec) => new(
        Words.Of(spec.Type),
        StartPositions.Format(spec.Start),
        Durations.Format(spec.AckTimeout),
        spec.MaxDeliveries,
        Durations.Format(spec.NackBackoffInitial),
        Durations.Format(spec.NackBackoffMax),
        Durations.Format(spec.ConsumerTimeout),
        spec.MaxDeliveries > 0 ? spec.DeadLetterTopicFor(topic, subscription) : null,
        Transforms(spec.Transforms));

    public static PartitionView Partition(PartitionInfo p) =>
        new(p.Partition, p.LowWatermark, p.HighWatermark, p.HighWatermark - p.LowWatermark, p.SizeBytes, p.Backlog);

    public static SubscriptionPartitionView Partition(SubscriptionPartitionStats s) =>
        new(s.Partition, s.AckFloor, s.ReadPosition, s.HighWatermark, s.Backlog, s.InFlight, s.Consumers, s.DeadLettered, s.ScheduledInMemory);

    /// <summary>
    /// Totals over partitions. Consumers is the largest per-partition count: one consumer reads every partition, so a
    /// sum would count it once per partition.
    /// </summary>
    public static (long Backlog, long InFlight, int Consumers, long DeadLettered) Totals(IReadOnlyCollection<SubscriptionPartitionStats> stats) => (
        stats.Sum(s => s.Backlog),
        stats.Sum(s => (long)s.InFlight),
        stats.Count == 0 ? 0 : stats.Max(s => s.Consumers),
        stats.Sum(s => s.DeadLettered));

    public static SubscriptionSummaryView Summary(string topic, string subscription, SubscriptionSpec spec, IReadOnlyCollection<SubscriptionPartitionStats> stats)
    {
        var (backlog, inFlight, consumers, deadLettered) = Totals(stats);
        return new SubscriptionSummaryView(subscription, Spec(topic, subscription, spec), backlog, inFlight, consumers, deadLettered);
    }

    public static MessageView Message(StoredMessage m, DeliveredMessage? delivery = null)
    {
        var (body, encoding) = Body(m.Body.Span);
        return new MessageView(
            m.Topic, m.Partition, m.Offset, m.Timestamp, m.Key, m.MessageId, m.ContentType,
            new SortedDictionary<string, string>(m.Headers.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal),
            body, encoding, delivery?.DeliveryCount, delivery?.Redelivered);
    }

    public static DeadLetterView DeadLetter(StoredMessage m)
    {
        m.Headers.TryGetValue(Headers.DeadLetterReason, out var reason);
        m.Headers.TryGetValue(Headers.OriginalTopic, out var topic);
        m.Headers.TryGetValue(Headers.OriginalSubscription, out var subscription);
        return new DeadLetterView(
            m.Offset, reason, topic, Int(m, Headers.OriginalPartition), Long(m, Headers.OriginalOffset), subscription,
            Int(m, Headers.DeliveryCount), Message(m));
    }

    public static PublishReceiptView Receipt(string topic, PublishReceipt r) => new(topic, r.Partition, r.Offset, r.Duplicate);

    public static ExchangeView Exchange(ExchangeInfo info) => new(
        info.Name, Words.Of(info.Spec.Type), info.Spec.AlternateTopic, info.Spec.AlternateExchange, info.Version,
        [.. info.Bindings.Select(b => new BindingView(b.Destination, b.Key, b.Headers, Words.Of(b.Match), b.Filter, Transforms(b.Transforms)))]);

    public static IReadOnlyList<TransformView>? Transforms(IReadOnlyList<TransformStep>? steps) =>
        steps is { Count: > 0 } ? [.. steps.Select(s => new TransformView(s.Type, s.Name, new SortedDictionary<string, string>(s.Parameters.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal)))] : null;

    /// <summary>The body as text when it is valid UTF-8, else base64.</summary>
    public static (string Body, string Encoding) Body(ReadOnlySpan<byte> body) =>
        Utf8.IsValid(body) ? (Encoding.UTF8.GetString(body), "utf8") : (Convert.ToBase64String(body), "base64");

    private static int? Int(StoredMessage m, string header) =>
        m.Headers.TryGetValue(header, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;

    private static long? Long(StoredMessage m, string header) =>
        m.Headers.TryGetValue(header, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null;
}
