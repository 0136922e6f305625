namespace OrleansMQ;

/// <summary>How a subscription hands messages to its consumers (Pulsar's four types).</summary>
public enum SubscriptionType
{
    /// <summary>One consumer at a time; a second one is refused with <see cref="ErrorCode.ConsumerBusy"/>. Ordered stream, cumulative ack.</summary>
    Exclusive = 0,
    /// <summary>One active consumer per partition, others on standby; on loss the next takes over from the last committed offset.</summary>
    Failover = 1,
    /// <summary>Competing consumers, per-message ack, redelivery after the lease expires or on nack: queue semantics.</summary>
    Shared = 2,
    /// <summary>Competing consumers where all messages with one key go to one consumer, in order.</summary>
    KeyShared = 3,
}
