namespace OrleansMQ.Cli.Views;

/// <summary>A line of <c>omq topic list</c>.</summary>
internal sealed record TopicSummaryView(string Name, string Kind, int Partitions, IReadOnlyList<string> Subscriptions, DateTimeOffset CreatedAt);

/// <summary><c>omq topic describe</c>: definition, partitions and subscriptions.</summary>
internal sealed record TopicView(
    string Name,
    string Kind,
    DateTimeOffset CreatedAt,
    TopicSpecView Spec,
    long Messages,
    long SizeBytes,
    long Backlog,
    IReadOnlyList<PartitionView> Partitions,
    IReadOnlyList<SubscriptionSummaryView> Subscriptions);

/// <summary>A topic's definition; durations in the CLI's notation (<c>7d</c>); null = not set (no limit, no expiry, no de-duplication).</summary>
internal sealed record TopicSpecView(
    int Partitions,
    string? RetentionAge,
    long? RetentionBytes,
    bool RetainUntilAcknowledged,
    int MaxMessageBytes,
    long MaxBacklogMessages,
    long MaxBacklogBytes,
    string? DeduplicationWindow,
    string? MessageTtl,
    bool ExpiredToDeadLetter);

/// <summary>One partition: retained offsets [low, high), size and the slowest subscription's backlog.</summary>
internal sealed record PartitionView(int Partition, long LowWatermark, long HighWatermark, long Messages, long SizeBytes, long Backlog);

/// <summary>The result of a delete.</summary>
internal sealed record DeletedView(string Kind, string Name, IReadOnlyList<string> AlsoDeleted);
