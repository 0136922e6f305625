namespace OrleansMQ.Cli.Views;

/// <summary>A subscription's definition in the CLI's words and notations (type <c>keyshared</c>, start <c>offset:5</c>, <c>30s</c>).</summary>
internal sealed record SubscriptionSpecView(
    string Type,
    string Start,
    string AckTimeout,
    int MaxDeliveries,
    string NackBackoffInitial,
    string NackBackoffMax,
    string ConsumerTimeout,
    string? DeadLetterTopic,
    IReadOnlyList<TransformView>? Transforms);

/// <summary>A subscription with its totals over all partitions (<c>omq sub list</c>, <c>omq topic describe</c>).</summary>
internal sealed record SubscriptionSummaryView(string Name, SubscriptionSpecView Spec, long Backlog, long InFlight, int Consumers, long DeadLettered);

/// <summary><c>omq sub describe</c>: the definition, totals and the cursor on every partition.</summary>
internal sealed record SubscriptionView(
    string Topic,
    string Name,
    SubscriptionSpecView Spec,
    long Backlog,
    long InFlight,
    int Consumers,
    long DeadLettered,
    IReadOnlyList<SubscriptionPartitionView> Partitions);

/// <summary>A subscription's cursor on one partition.</summary>
internal sealed record SubscriptionPartitionView(
    int Partition,
    long AckFloor,
    long ReadPosition,
    long HighWatermark,
    long Backlog,
    int InFlight,
    int Consumers,
    long DeadLettered,
    int ScheduledInMemory);

/// <summary>The result of <c>omq sub seek</c>.</summary>
internal sealed record SeekView(string Topic, string Subscription, string Position);
