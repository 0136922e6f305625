namespace OrleansMQ.Client;

/// <summary>How a consumer pulls.</summary>
public sealed class ConsumerOptions
{
    /// <summary>
    /// Credit: the most unacknowledged deliveries this consumer holds (split evenly across partitions, at least one
    /// each). The broker never sends more than the credit. Default 100.
    /// </summary>
    public int Prefetch { get; set; } = 100;

    /// <summary>
    /// When set, the most messages this consumer ever leases (over all partitions), for take-N tools such as
    /// <c>omq consume --count N</c>: a message leased but never settled comes back only after its lease, with its delivery
    /// attempt counted, so a consumer that stops after N must not hold more. Null (default): no limit. 1–int.MaxValue.
    /// </summary>
    public int? MaxMessages { get; set; }

    /// <summary>The consumer id (default: a new GUID). Must be unique among the subscription's live consumers.</summary>
    public string? ConsumerId { get; set; }

    /// <summary>How long one long poll waits for messages. Default 5 s.</summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest an ack made with <see cref="Delivery.Ack"/> waits to be sent with others (Pulsar's
    /// <c>acknowledgmentGroupTime</c>): per partition at most one such ack call goes out per group time. Acks made with
    /// <see cref="Delivery.AckAsync"/> never wait (and take the waiting ones along). Default 10 ms; 0–1 s.
    /// </summary>
    public TimeSpan AckGroupTime { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// When set, the subscription is created with this definition if it does not exist yet (it must match if it does).
    /// When null, a missing subscription is an <see cref="ErrorCode.NotFound"/> error.
    /// </summary>
    public SubscriptionSpec? CreateIfMissing { get; set; }

    internal void Validate()
    {
        if (Prefetch is < 1 or > 10_000)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Consumer prefetch {Prefetch} must be 1–10000.");
        }

        if (MaxMessages is < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Consumer MaxMessages {MaxMessages} must be ≥ 1.");
        }

        if (AckGroupTime < TimeSpan.Zero || AckGroupTime > TimeSpan.FromSeconds(1))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Consumer AckGroupTime {AckGroupTime} must be 0–1 s.");
        }

        if (PollWait < TimeSpan.Zero || PollWait > TimeSpan.FromSeconds(20))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Consumer poll wait {PollWait} must be 0–20 s.");
        }
    }
}
