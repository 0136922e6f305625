using Orleans.Concurrency;

namespace OrleansMQ.Grains;

/// <summary>
/// A subscription's cursor on one partition: read position, leases, ack ranges, redelivery and dead-lettering.
/// Keyed <c>{topic}/{partition}/{subscription}</c> (see <see cref="GrainKeys"/>).
/// </summary>
[Alias("omq.ISubscriptionGrain")]
public interface ISubscriptionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Long-polls for up to <paramref name="maxMessages"/> deliveries (the consumer's free credit), waiting at most
    /// <paramref name="maxWait"/> when none are ready. Also keeps the consumer's session alive.
    /// </summary>
    [Alias("Receive")]
    Task<ReceiveResult> ReceiveAsync(string consumerId, int maxMessages, TimeSpan maxWait);

    /// <summary>Acknowledges deliveries. Exclusive/Failover: cumulative (everything up to the highest offset).</summary>
    [Alias("Ack")]
    Task AckAsync(string consumerId, IReadOnlyList<DeliveryTag> tags);

    /// <summary>Negatively acknowledges deliveries: they come back after the backoff, or go to the dead-letter topic after max deliveries.</summary>
    [Alias("Nack")]
    Task NackAsync(string consumerId, IReadOnlyList<DeliveryTag> tags, string? reason);

    /// <summary>Moves the cursor (replay or skip). Unacked deliveries are released.</summary>
    [Alias("Seek")]
    Task SeekAsync(StartPosition position);

    /// <summary>
    /// Exclusive only: makes <paramref name="consumerId"/> the subscription's owner on this partition and fences every
    /// other consumer. The owner and a fencing epoch (incremented by every claim) are persisted with the cursor; from
    /// then on a receive, ack or nack by any other consumer id fails with <see cref="ErrorCode.ConsumerFenced"/> and
    /// changes nothing, until that consumer claims again. Leases of the fenced consumers are released.
    /// </summary>
    /// <param name="consumerId">The new owner: a unique id per consumer instance.</param>
    /// <param name="takeOver">
    /// True: take the subscription over from a live owner (a newer consumer). False: claim only when there is no live
    /// owner (none, closed, or timed out) — how a fenced consumer rejoins once the newer one is gone.
    /// </param>
    /// <returns>The new epoch; 0 when <paramref name="takeOver"/> is false and another consumer still owns it.</returns>
    /// <exception cref="OrleansMQException"><see cref="ErrorCode.InvalidOperation"/> when the subscription is not Exclusive.</exception>
    [Alias("ClaimExclusive")]
    Task<long> ClaimExclusiveAsync(string consumerId, bool takeOver = true);

    /// <summary>The consumer is leaving: its leases are released for others at once.</summary>
    [Alias("CloseConsumer")]
    Task CloseConsumerAsync(string consumerId);

    /// <summary>The cursor's state.</summary>
    [Alias("Stats")]
    Task<SubscriptionPartitionStats> GetStatsAsync();

    /// <summary>New messages were appended up to <paramref name="highWatermark"/>.</summary>
    [Alias("Notify"), OneWay]
    Task NotifyAsync(long highWatermark);

    /// <summary>
    /// New messages were appended up to <paramref name="highWatermark"/>, and <paramref name="appended"/> are the durable
    /// messages of the batch that moved it (contiguous offsets). A cursor whose read position is the first of them takes
    /// them straight into its read-ahead buffer, saving a read of the partition on the delivery path; any other cursor
    /// treats this like <see cref="NotifyAsync"/>.
    /// </summary>
    [Alias("NotifyAppended"), OneWay]
    Task NotifyAppendedAsync(long highWatermark, IReadOnlyList<StoredMessage> appended);

    /// <summary>The subscription's definition or subscriber changed (or it is created).</summary>
    [Alias("Configure")]
    Task ConfigureAsync(SubscriptionConfig config);

    /// <summary>Deletes the cursor state and deactivates.</summary>
    [Alias("Delete")]
    Task DeleteAsync();
}

/// <summary>What the topic tells a subscription-partition grain about its subscription.</summary>
[GenerateSerializer, Immutable, Alias("omq.sub-config")]
public sealed record SubscriptionConfig
{
    /// <summary>The definition.</summary>
    [Id(0)] public required SubscriptionSpec Spec { get; init; }

    /// <summary>The subscriber grain to push to, if any.</summary>
    [Id(1)] public IMessageConsumerGrain? Subscriber { get; init; }

    /// <summary>The topic's incarnation, so a re-created topic starts a fresh cursor.</summary>
    [Id(2)] public Guid TopicIncarnation { get; init; }

    /// <summary>The topic's default message TTL.</summary>
    [Id(3)] public TimeSpan? MessageTtl { get; init; }

    /// <summary>Whether expired messages go to the dead-letter topic (else they are dropped).</summary>
    [Id(4)] public bool ExpiredToDeadLetter { get; init; }
}

/// <summary>The answer to a receive.</summary>
[GenerateSerializer, Immutable, Alias("omq.receive")]
public sealed record ReceiveResult
{
    /// <summary>The deliveries, in the order they must be processed.</summary>
    [Id(0)] public required IReadOnlyList<DeliveredMessage> Messages { get; init; }

    /// <summary>Failover: false while this consumer is on standby.</summary>
    [Id(1)] public bool Active { get; init; } = true;
}
