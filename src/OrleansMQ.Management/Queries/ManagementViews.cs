namespace OrleansMQ.Management.Queries;

/// <summary>A silo as the overview shows it.</summary>
public sealed record SiloView(string Address, string Name, string Status, int? Activations, float? CpuPercent, long? MemoryBytes);

/// <summary>A topic or queue with its partitions summed up.</summary>
public sealed record TopicSummary(TopicInfo Info, IReadOnlyList<PartitionInfo> Partitions)
{
    /// <summary>Messages retained (high minus low watermark, summed).</summary>
    public long Messages => Partitions.Sum(p => p.HighWatermark - p.LowWatermark);

    /// <summary>Bytes on storage.</summary>
    public long SizeBytes => Partitions.Sum(p => p.SizeBytes);

    /// <summary>Messages not yet acknowledged by the slowest subscription.</summary>
    public long Backlog => Partitions.Sum(p => p.Backlog);
}

/// <summary>A subscription with its per-partition cursor state summed up.</summary>
public sealed record SubscriptionSummary(string Name, SubscriptionSpec Spec, IReadOnlyList<SubscriptionPartitionStats> Partitions, string DeadLetterTopic)
{
    /// <summary>Messages not yet acknowledged.</summary>
    public long Lag => Partitions.Sum(p => p.Backlog);

    /// <summary>Leased deliveries.</summary>
    public int InFlight => Partitions.Sum(p => p.InFlight);

    /// <summary>Delayed messages and pending redeliveries held in memory (the rest wait in the log until due).</summary>
    public int ScheduledInMemory => Partitions.Sum(p => p.ScheduledInMemory);

    /// <summary>Consumer sessions (summed over partitions: a consumer of N partitions counts N times).</summary>
    public int Consumers => Partitions.Count == 0 ? 0 : Partitions.Max(p => p.Consumers);

    /// <summary>Messages this subscription moved to its dead-letter topic.</summary>
    public long DeadLettered => Partitions.Sum(p => p.DeadLettered);
}

/// <summary>Everything the overview page shows.</summary>
public sealed record Overview(IReadOnlyList<SiloView> Silos, IReadOnlyList<TopicSummary> Topics, IReadOnlyList<string> Problems)
{
    /// <summary>Backlog over all topics.</summary>
    public long Backlog => Topics.Sum(t => t.Backlog);
}
