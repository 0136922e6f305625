namespace OrleansMQ;

/// <summary>The definition of a topic (a durable, partitioned, ordered log).</summary>
[GenerateSerializer, Immutable, Alias("omq.topic-spec")]
public sealed record TopicSpec
{
    /// <summary>Maximum number of partitions per topic.</summary>
    public const int MaxPartitions = 1024;

    /// <summary>Number of partitions (1–1024). Order is guaranteed per partition, so per key.</summary>
    [Id(0)] public int Partitions { get; init; } = 1;

    /// <summary>How long and how much the log keeps.</summary>
    [Id(1)] public RetentionPolicy Retention { get; init; } = RetentionPolicy.Default;

    /// <summary>Maximum size of one message in bytes (body + key + id + content type + headers). Default 1 MiB.</summary>
    [Id(2)] public int MaxMessageBytes { get; init; } = MessageLimits.DefaultMaxMessageBytes;

    /// <summary>
    /// Per partition: the most messages not yet acknowledged by the slowest subscription. Publishing beyond it fails
    /// with <see cref="ErrorCode.BacklogFull"/>. Default 10 million.
    /// </summary>
    [Id(3)] public long MaxBacklogMessages { get; init; } = 10_000_000;

    /// <summary>Per partition: the most bytes not yet acknowledged by the slowest subscription. Default 1 GiB.</summary>
    [Id(4)] public long MaxBacklogBytes { get; init; } = 1L << 30;

    /// <summary>True when the topic was created as a queue (a topic with a default Shared subscription).</summary>
    [Id(5)] public bool IsQueue { get; init; }

    /// <summary>
    /// De-duplication by <see cref="Message.MessageId"/>: a message whose id was already appended to the partition within
    /// this window is acknowledged with the original offset instead of being stored again. Null = off (default). Up to 7 days;
    /// at most <see cref="MaxDeduplicationIds"/> ids are remembered per partition (the oldest are forgotten first).
    /// </summary>
    [Id(6)] public TimeSpan? DeduplicationWindow { get; init; }

    /// <summary>Default time-to-live of messages without their own; null = no expiry. Expired messages are not delivered (see <see cref="ExpiredToDeadLetter"/>).</summary>
    [Id(7)] public TimeSpan? MessageTtl { get; init; }

    /// <summary>True: expired messages go to the subscription's dead-letter topic (reason "expired"); false (default): they are dropped.</summary>
    [Id(8)] public bool ExpiredToDeadLetter { get; init; }

    /// <summary>How many message ids a partition remembers for de-duplication.</summary>
    public const int MaxDeduplicationIds = 100_000;

    /// <summary>Throws <see cref="ErrorCode.InvalidArgument"/> when a field is out of range.</summary>
    public void Validate(string topic)
    {
        if (Partitions is < 1 or > MaxPartitions)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': partitions is {Partitions}; it must be 1–{MaxPartitions}.");
        }

        if (MaxMessageBytes is < 1 or > MessageLimits.AbsoluteMaxMessageBytes)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Topic '{topic}': max message bytes is {MaxMessageBytes}; it must be 1–{MessageLimits.AbsoluteMaxMessageBytes}.");
        }

        if (MaxBacklogMessages < 1 || MaxBacklogBytes < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': backlog limits must be positive.");
        }

        if (DeduplicationWindow is { } window && (window <= TimeSpan.Zero || window > TimeSpan.FromDays(7)))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': de-duplication window {window} must be within (0, 7 days].");
        }

        if (MessageTtl is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': message TTL {ttl} must be positive.");
        }

        ArgumentNullException.ThrowIfNull(Retention);
        Retention.Validate(topic);
    }
}

/// <summary>Retention of a topic log. Whole segments are deleted once every message in them is past a limit.</summary>
[GenerateSerializer, Immutable, Alias("omq.retention")]
public sealed record RetentionPolicy
{
    /// <summary>Topics keep 7 days by default, like Kafka.</summary>
    public static readonly RetentionPolicy Default = new() { MaxAge = TimeSpan.FromDays(7) };

    /// <summary>Queues keep messages until every subscription acknowledged them.</summary>
    public static readonly RetentionPolicy Queue = new() { UntilAcknowledged = true };

    /// <summary>Delete messages older than this (null = no age limit).</summary>
    [Id(0)] public TimeSpan? MaxAge { get; init; }

    /// <summary>Delete the oldest messages once a partition's log is bigger than this many bytes (null = no size limit).</summary>
    [Id(1)] public long? MaxBytes { get; init; }

    /// <summary>Delete messages once every subscription has acknowledged them.</summary>
    [Id(2)] public bool UntilAcknowledged { get; init; }

    internal void Validate(string topic)
    {
        if (MaxAge is { } age && age <= TimeSpan.Zero)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': retention max age {age} must be positive.");
        }

        if (MaxBytes is < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Topic '{topic}': retention max bytes {MaxBytes} must be positive.");
        }
    }
}
