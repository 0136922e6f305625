namespace OrleansMQ.Server.Grains;

/// <summary>The persisted part of a subscription's cursor on one partition.</summary>
[GenerateSerializer, Alias("omq.cursor")]
internal sealed class CursorState
{
    /// <summary>The topic incarnation the cursor belongs to; a re-created topic resets it.</summary>
    [Id(0)] public Guid Incarnation { get; set; }

    /// <summary>False until the start position was resolved.</summary>
    [Id(1)] public bool Initialized { get; set; }

    /// <summary>Every offset below the floor is acknowledged (the committed offset).</summary>
    [Id(2)] public long AckFloor { get; set; }

    /// <summary>Offsets at or above the floor acknowledged individually (Shared/KeyShared, or dead-lettered).</summary>
    [Id(3)] public HashSet<long> AckedAbove { get; set; } = [];

    /// <summary>How many times each unacknowledged offset was delivered (survives restarts, so max-deliveries holds).</summary>
    [Id(4)] public Dictionary<long, int> DeliveryCounts { get; set; } = [];

    /// <summary>How many messages were moved to the dead-letter topic.</summary>
    [Id(5)] public long DeadLettered { get; set; }

    /// <summary>Exclusive subscriptions: the consumer that last claimed the cursor (others are fenced), if any claimed.</summary>
    [Id(6)] public string? ExclusiveOwner { get; set; }

    /// <summary>Incremented by every claim of <see cref="ExclusiveOwner"/>.</summary>
    [Id(7)] public long OwnerEpoch { get; set; }
}
