namespace OrleansMQ;

/// <summary>The state of a subscription on one partition.</summary>
[GenerateSerializer, Immutable, Alias("omq.sub-stats")]
public sealed record SubscriptionPartitionStats
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>Every offset below this is acknowledged (the committed offset).</summary>
    [Id(1)] public long AckFloor { get; init; }

    /// <summary>The next offset never delivered yet.</summary>
    [Id(2)] public long ReadPosition { get; init; }

    /// <summary>The partition's high watermark when the stats were taken.</summary>
    [Id(3)] public long HighWatermark { get; init; }

    /// <summary>Messages not yet acknowledged.</summary>
    [Id(4)] public long Backlog { get; init; }

    /// <summary>Messages delivered and awaiting ack.</summary>
    [Id(5)] public int InFlight { get; init; }

    /// <summary>Live consumers.</summary>
    [Id(6)] public int Consumers { get; init; }

    /// <summary>Messages moved to the dead-letter topic so far.</summary>
    [Id(7)] public long DeadLettered { get; init; }

    /// <summary>
    /// Delayed messages and pending redeliveries held in memory (at most the server's <c>MaxScheduledInMemory</c>; the
    /// rest stay in the log and are read again when the held ones drain).
    /// </summary>
    [Id(8)] public int ScheduledInMemory { get; init; }
}
