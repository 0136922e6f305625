namespace OrleansMQ.Gateway.Http.Contracts;

/// <summary>The definition of a topic; unset fields take the broker's defaults. Durations are in milliseconds.</summary>
public sealed record CreateTopicRequest
{
    /// <summary>Partitions, 1–1024 (default 1).</summary>
    public int? Partitions { get; init; }

    /// <summary>Largest message in bytes (default 1 MiB).</summary>
    public int? MaxMessageBytes { get; init; }

    /// <summary>Most unacknowledged messages per partition (default 10 million).</summary>
    public long? MaxBacklogMessages { get; init; }

    /// <summary>Most unacknowledged bytes per partition (default 1 GiB).</summary>
    public long? MaxBacklogBytes { get; init; }

    /// <summary>Delete messages older than this (default 7 days).</summary>
    public long? RetentionMaxAgeMs { get; init; }

    /// <summary>Delete the oldest messages once a partition is larger than this.</summary>
    public long? RetentionMaxBytes { get; init; }

    internal TopicSpec ToSpec()
    {
        var defaults = new TopicSpec();
        return new TopicSpec
        {
            Partitions = Partitions ?? defaults.Partitions,
            MaxMessageBytes = MaxMessageBytes ?? defaults.MaxMessageBytes,
            MaxBacklogMessages = MaxBacklogMessages ?? defaults.MaxBacklogMessages,
            MaxBacklogBytes = MaxBacklogBytes ?? defaults.MaxBacklogBytes,
            Retention = RetentionMaxAgeMs is null && RetentionMaxBytes is null
                ? defaults.Retention
                : new RetentionPolicy { MaxAge = Millis(RetentionMaxAgeMs), MaxBytes = RetentionMaxBytes },
        };
    }

    internal static TimeSpan? Millis(long? ms) => ms is { } value ? TimeSpan.FromMilliseconds(value) : null;
}

/// <summary>The definition of a queue; unset fields take the broker's defaults. Durations are in milliseconds.</summary>
public sealed record CreateQueueRequest
{
    /// <summary>Partitions (default 1).</summary>
    public int? Partitions { get; init; }

    /// <summary>Visibility timeout (default 30 s).</summary>
    public long? AckTimeoutMs { get; init; }

    /// <summary>Deliveries before dead-lettering (default 5; 0 = never).</summary>
    public int? MaxDeliveries { get; init; }

    /// <summary>Largest message in bytes (default 1 MiB).</summary>
    public int? MaxMessageBytes { get; init; }

    /// <summary>Most unacknowledged messages per partition (default 10 million).</summary>
    public long? MaxBacklogMessages { get; init; }

    /// <summary>First nack backoff (default 1 s).</summary>
    public long? NackBackoffInitialMs { get; init; }

    internal Client.QueueSpec ToSpec()
    {
        var defaults = new Client.QueueSpec();
        return new Client.QueueSpec
        {
            Partitions = Partitions ?? defaults.Partitions,
            AckTimeout = CreateTopicRequest.Millis(AckTimeoutMs) ?? defaults.AckTimeout,
            MaxDeliveries = MaxDeliveries ?? defaults.MaxDeliveries,
            MaxMessageBytes = MaxMessageBytes ?? defaults.MaxMessageBytes,
            MaxBacklogMessages = MaxBacklogMessages ?? defaults.MaxBacklogMessages,
            NackBackoffInitial = CreateTopicRequest.Millis(NackBackoffInitialMs) ?? defaults.NackBackoffInitial,
        };
    }
}

/// <summary>The definition of a subscription; unset fields take the broker's defaults. Durations are in milliseconds.</summary>
public sealed record CreateSubscriptionRequest
{
    /// <summary>Exclusive, Failover, Shared (default) or KeyShared.</summary>
    public SubscriptionType? Type { get; init; }

    /// <summary>Where it starts: Earliest, Latest (default), Offset (with <see cref="StartOffset"/>) or Timestamp (with <see cref="StartTimestamp"/>).</summary>
    public StartKind? Start { get; init; }

    /// <summary>The start offset for <see cref="StartKind.Offset"/>.</summary>
    public long? StartOffset { get; init; }

    /// <summary>The start time for <see cref="StartKind.Timestamp"/>.</summary>
    public DateTimeOffset? StartTimestamp { get; init; }

    /// <summary>Visibility timeout for Shared/KeyShared (default 30 s).</summary>
    public long? AckTimeoutMs { get; init; }

    /// <summary>Deliveries before dead-lettering (default 5; 0 = never).</summary>
    public int? MaxDeliveries { get; init; }

    /// <summary>First nack backoff (default 1 s).</summary>
    public long? NackBackoffInitialMs { get; init; }

    /// <summary>Longest nack backoff (default 60 s).</summary>
    public long? NackBackoffMaxMs { get; init; }

    /// <summary>Dead-letter topic (default {topic}.{subscription}.dlq).</summary>
    public string? DeadLetterTopic { get; init; }

    /// <summary>How long a consumer may be silent before it is dropped (default 30 s).</summary>
    public long? ConsumerTimeoutMs { get; init; }

    internal SubscriptionSpec ToSpec()
    {
        var defaults = new SubscriptionSpec();
        return new SubscriptionSpec
        {
            Type = Type ?? defaults.Type,
            Start = (Start ?? StartKind.Latest) switch
            {
                StartKind.Earliest => StartPosition.Earliest,
                StartKind.Latest => StartPosition.Latest,
                StartKind.Offset => StartPosition.AtOffset(StartOffset ?? throw new OrleansMQException(ErrorCode.InvalidArgument, "start Offset needs startOffset.")),
                StartKind.Timestamp => StartPosition.AtTimestamp(StartTimestamp ?? throw new OrleansMQException(ErrorCode.InvalidArgument, "start Timestamp needs startTimestamp.")),
                var other => throw new OrleansMQException(ErrorCode.InvalidArgument, $"Unknown start {other}."),
            },
            AckTimeout = CreateTopicRequest.Millis(AckTimeoutMs) ?? defaults.AckTimeout,
            MaxDeliveries = MaxDeliveries ?? defaults.MaxDeliveries,
            NackBackoffInitial = CreateTopicRequest.Millis(NackBackoffInitialMs) ?? defaults.NackBackoffInitial,
            NackBackoffMax = CreateTopicRequest.Millis(NackBackoffMaxMs) ?? defaults.NackBackoffMax,
            DeadLetterTopic = DeadLetterTopic,
            ConsumerTimeout = CreateTopicRequest.Millis(ConsumerTimeoutMs) ?? defaults.ConsumerTimeout,
        };
    }
}

/// <summary>A topic or queue.</summary>
public sealed record TopicResponse
{
    /// <summary>The name.</summary>
    public required string Name { get; init; }

    /// <summary>True for a queue.</summary>
    public bool IsQueue { get; init; }

    /// <summary>Partitions.</summary>
    public int Partitions { get; init; }

    /// <summary>Largest message in bytes.</summary>
    public int MaxMessageBytes { get; init; }

    /// <summary>Most unacknowledged messages per partition.</summary>
    public long MaxBacklogMessages { get; init; }

    /// <summary>Most unacknowledged bytes per partition.</summary>
    public long MaxBacklogBytes { get; init; }

    /// <summary>Retention by age, null for none.</summary>
    public long? RetentionMaxAgeMs { get; init; }

    /// <summary>Retention by size, null for none.</summary>
    public long? RetentionMaxBytes { get; init; }

    /// <summary>Messages are deleted once every subscription acked them.</summary>
    public bool RetentionUntilAcknowledged { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The subscriptions.</summary>
    public required IReadOnlyList<SubscriptionResponse> Subscriptions { get; init; }

    internal static TopicResponse From(TopicInfo info) => new()
    {
        Name = info.Name,
        IsQueue = info.Spec.IsQueue,
        Partitions = info.Spec.Partitions,
        MaxMessageBytes = info.Spec.MaxMessageBytes,
        MaxBacklogMessages = info.Spec.MaxBacklogMessages,
        MaxBacklogBytes = info.Spec.MaxBacklogBytes,
        RetentionMaxAgeMs = info.Spec.Retention.MaxAge is { } age ? (long)age.TotalMilliseconds : null,
        RetentionMaxBytes = info.Spec.Retention.MaxBytes,
        RetentionUntilAcknowledged = info.Spec.Retention.UntilAcknowledged,
        CreatedAt = info.CreatedAt,
        Subscriptions = [.. info.Subscriptions.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => SubscriptionResponse.From(info.Name, s.Key, s.Value, null))],
    };
}

/// <summary>A subscription, with its per-partition state when asked for one subscription.</summary>
public sealed record SubscriptionResponse
{
    /// <summary>The name.</summary>
    public required string Name { get; init; }

    /// <summary>The type.</summary>
    public SubscriptionType Type { get; init; }

    /// <summary>Visibility timeout.</summary>
    public long AckTimeoutMs { get; init; }

    /// <summary>Deliveries before dead-lettering (0 = never).</summary>
    public int MaxDeliveries { get; init; }

    /// <summary>First nack backoff.</summary>
    public long NackBackoffInitialMs { get; init; }

    /// <summary>Longest nack backoff.</summary>
    public long NackBackoffMaxMs { get; init; }

    /// <summary>The dead-letter topic.</summary>
    public required string DeadLetterTopic { get; init; }

    /// <summary>Consumer timeout.</summary>
    public long ConsumerTimeoutMs { get; init; }

    /// <summary>Per-partition cursor state (only on GET of one subscription).</summary>
    public IReadOnlyList<SubscriptionPartitionStats>? Partitions { get; init; }

    /// <summary>Unacknowledged messages over all partitions (only on GET of one subscription).</summary>
    public long? Backlog { get; init; }

    internal static SubscriptionResponse From(string topic, string name, SubscriptionSpec spec, IReadOnlyList<SubscriptionPartitionStats>? stats) => new()
    {
        Name = name,
        Type = spec.Type,
        AckTimeoutMs = (long)spec.AckTimeout.TotalMilliseconds,
        MaxDeliveries = spec.MaxDeliveries,
        NackBackoffInitialMs = (long)spec.NackBackoffInitial.TotalMilliseconds,
        NackBackoffMaxMs = (long)spec.NackBackoffMax.TotalMilliseconds,
        DeadLetterTopic = spec.DeadLetterTopicFor(topic, name),
        ConsumerTimeoutMs = (long)spec.ConsumerTimeout.TotalMilliseconds,
        Partitions = stats,
        Backlog = stats?.Sum(s => s.Backlog),
    };
}

/// <summary>The definition of an exchange.</summary>
public sealed record CreateExchangeRequest
{
    /// <summary>Direct (default), Topic, Headers or Fanout.</summary>
    public ExchangeType? Type { get; init; }

    /// <summary>Where unroutable messages go: a topic or queue.</summary>
    public string? AlternateTopic { get; init; }

    /// <summary>Where unroutable messages go: another exchange.</summary>
    public string? AlternateExchange { get; init; }

    internal ExchangeSpec ToSpec() => new() { Type = Type ?? ExchangeType.Direct, AlternateTopic = AlternateTopic, AlternateExchange = AlternateExchange };
}

/// <summary>A binding from an exchange to a topic or queue.</summary>
public sealed record BindingRequest
{
    /// <summary>The topic or queue.</summary>
    public required string Destination { get; init; }

    /// <summary>Direct: the routing key; Topic: the pattern (<c>*</c> one word, <c>#</c> zero or more).</summary>
    public string? Key { get; init; }

    /// <summary>Headers exchanges: the headers to match.</summary>
    public Dictionary<string, string>? Headers { get; init; }

    /// <summary>Headers exchanges: All (default) or Any.</summary>
    public HeadersMatch? Match { get; init; }

    /// <summary>Optional content filter applied after the match, e.g. <c>headers.region == 'eu' &amp;&amp; body.amount &gt; 100</c> (at most 1024 characters).</summary>
    public string? Filter { get; init; }

    internal Binding ToBinding() => new()
    {
        Destination = Names.Validate(Destination, "destination"),
        Key = Key ?? "",
        Headers = Headers,
        Match = Match ?? HeadersMatch.All,
        Filter = Filter,
    };
}

/// <summary>An exchange with its bindings.</summary>
/// <param name="Name">The name.</param>
/// <param name="Type">The matching rule.</param>
/// <param name="AlternateTopic">Where unroutable messages go, if a topic.</param>
/// <param name="AlternateExchange">Where unroutable messages go, if an exchange.</param>
/// <param name="Bindings">The bindings.</param>
public sealed record ExchangeResponse(string Name, ExchangeType Type, string? AlternateTopic, string? AlternateExchange, IReadOnlyList<BindingResponse> Bindings)
{
    internal static ExchangeResponse From(ExchangeInfo info) => new(info.Name, info.Spec.Type, info.Spec.AlternateTopic, info.Spec.AlternateExchange,
        [.. info.Bindings.Select(b => new BindingResponse(b.Destination, b.Key, b.Headers, b.Match, b.Filter))]);
}

/// <summary>One binding.</summary>
/// <param name="Destination">The topic or queue.</param>
/// <param name="Key">The routing key or pattern.</param>
/// <param name="Headers">Headers to match.</param>
/// <param name="Match">All or Any.</param>
/// <param name="Filter">The content filter, if any.</param>
public sealed record BindingResponse(string Destination, string Key, IReadOnlyDictionary<string, string>? Headers, HeadersMatch Match, string? Filter);
