namespace OrleansMQ;

/// <summary>The definition of a durable subscription (a named cursor group on a topic).</summary>
[GenerateSerializer, Immutable, Alias("omq.sub-spec")]
public sealed record SubscriptionSpec
{
    /// <summary>How messages are handed to consumers.</summary>
    [Id(0)] public SubscriptionType Type { get; init; } = SubscriptionType.Shared;

    /// <summary>Where the subscription starts when it is created.</summary>
    [Id(1)] public StartPosition Start { get; init; } = StartPosition.Latest;

    /// <summary>Shared/KeyShared: how long a consumer holds a delivered message before it comes back (visibility timeout). Default 30 s.</summary>
    [Id(2)] public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries before a message is moved to the dead-letter topic (≥ 1; 0 = never dead-letter). Default 5.</summary>
    [Id(3)] public int MaxDeliveries { get; init; } = 5;

    /// <summary>Delay before a nacked message is redelivered the first time; doubles per attempt up to <see cref="NackBackoffMax"/>. Default 1 s.</summary>
    [Id(4)] public TimeSpan NackBackoffInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest nack backoff. Default 60 s.</summary>
    [Id(5)] public TimeSpan NackBackoffMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The dead-letter topic; defaults to <c>{topic}.{subscription}.dlq</c>.</summary>
    [Id(6)] public string? DeadLetterTopic { get; init; }

    /// <summary>How long a consumer may go without polling before it is considered gone (its leases are released; failover moves on). Default 30 s.</summary>
    [Id(7)] public TimeSpan ConsumerTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Transform steps applied to each message as it is delivered on this subscription.</summary>
    [Id(8)] public IReadOnlyList<TransformStep>? Transforms { get; init; }

    /// <summary>Equality on content (transforms by their steps), so an identical re-create is recognised after a round trip.</summary>
    public bool Equals(SubscriptionSpec? other) =>
        other is not null && Type == other.Type && Start == other.Start && AckTimeout == other.AckTimeout && MaxDeliveries == other.MaxDeliveries
        && NackBackoffInitial == other.NackBackoffInitial && NackBackoffMax == other.NackBackoffMax && DeadLetterTopic == other.DeadLetterTopic
        && ConsumerTimeout == other.ConsumerTimeout
        && ((Transforms is null || Transforms.Count == 0) ? (other.Transforms is null || other.Transforms.Count == 0) : other.Transforms is not null && Transforms.SequenceEqual(other.Transforms));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, Start, AckTimeout, MaxDeliveries, DeadLetterTopic);

    /// <summary>The dead-letter topic for a subscription.</summary>
    public string DeadLetterTopicFor(string topic, string subscription) => DeadLetterTopic ?? $"{topic}.{subscription}.dlq";

    /// <summary>The backoff before redelivery after the <paramref name="deliveryCount"/>-th delivery was nacked.</summary>
    public TimeSpan BackoffFor(int deliveryCount)
    {
        var factor = Math.Pow(2, Math.Clamp(deliveryCount - 1, 0, 30));
        var ticks = Math.Min(NackBackoffInitial.Ticks * factor, NackBackoffMax.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Throws <see cref="OrleansMQException"/> when a field is out of range.</summary>
    public void Validate(string topic, string subscription)
    {
        Names.Validate(subscription, "subscription");
        if (!Enum.IsDefined(Type))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Subscription '{subscription}' on '{topic}': unknown type {(int)Type}.");
        }

        if (AckTimeout < TimeSpan.FromMilliseconds(100) || AckTimeout > TimeSpan.FromHours(12))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Subscription '{subscription}' on '{topic}': ack timeout {AckTimeout} must be between 100 ms and 12 h.");
        }

        if (MaxDeliveries < 0)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Subscription '{subscription}' on '{topic}': max deliveries {MaxDeliveries} must be ≥ 0.");
        }

        if (NackBackoffInitial < TimeSpan.Zero || NackBackoffMax < NackBackoffInitial)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Subscription '{subscription}' on '{topic}': nack backoff must satisfy 0 ≤ initial ({NackBackoffInitial}) ≤ max ({NackBackoffMax}).");
        }

        if (ConsumerTimeout < TimeSpan.FromSeconds(1))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Subscription '{subscription}' on '{topic}': consumer timeout {ConsumerTimeout} must be ≥ 1 s.");
        }

        Names.Validate(DeadLetterTopicFor(topic, subscription), "dead-letter topic");
    }
}
