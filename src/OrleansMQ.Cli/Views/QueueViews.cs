namespace OrleansMQ.Cli.Views;

/// <summary>A line of <c>omq queue list</c>.</summary>
internal sealed record QueueSummaryView(string Name, int Partitions, long Backlog, long InFlight, int Consumers, long DeadLettered);

/// <summary><c>omq queue describe</c>: a queue's settings, its backlog, what is in flight and what was dead-lettered.</summary>
internal sealed record QueueView(
    string Name,
    DateTimeOffset CreatedAt,
    int Partitions,
    string AckTimeout,
    int MaxDeliveries,
    string NackBackoff,
    int MaxMessageBytes,
    string? DeadLetterTopic,
    long Messages,
    long SizeBytes,
    long Backlog,
    long InFlight,
    int Consumers,
    long DeadLettered,
    long DeadLetterMessages,
    IReadOnlyList<SubscriptionPartitionView> PartitionStats);
