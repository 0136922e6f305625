namespace OrleansMQ;

/// <summary>A topic's definition and its subscriptions.</summary>
[GenerateSerializer, Immutable, Alias("omq.topic-info")]
public sealed record TopicInfo
{
    /// <summary>The topic name.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>The definition.</summary>
    [Id(1)] public required TopicSpec Spec { get; init; }

    /// <summary>The subscriptions, by name.</summary>
    [Id(2)] public IReadOnlyDictionary<string, SubscriptionSpec> Subscriptions { get; init; } = new Dictionary<string, SubscriptionSpec>();

    /// <summary>When the topic was created.</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Changes whenever the topic is re-created, so stale caches can tell.</summary>
    [Id(4)] public Guid Incarnation { get; init; }
}

/// <summary>The offsets and size of one partition.</summary>
[GenerateSerializer, Immutable, Alias("omq.partition-info")]
public sealed record PartitionInfo
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The first retained offset.</summary>
    [Id(1)] public long LowWatermark { get; init; }

    /// <summary>The next offset to be assigned (one past the last message).</summary>
    [Id(2)] public long HighWatermark { get; init; }

    /// <summary>Bytes retained on storage.</summary>
    [Id(3)] public long SizeBytes { get; init; }

    /// <summary>Messages not yet acknowledged by the slowest subscription.</summary>
    [Id(4)] public long Backlog { get; init; }
}

/// <summary>Where a published message landed.</summary>
[GenerateSerializer, Immutable, Alias("omq.receipt")]
public readonly record struct PublishReceipt([property: Id(0)] int Partition, [property: Id(1)] long Offset, [property: Id(2)] bool Duplicate);
