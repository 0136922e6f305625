namespace OrleansMQ.Client;

/// <summary>How a producer batches and retries.</summary>
public sealed class ProducerOptions
{
    /// <summary>
    /// How long an idle partition batcher waits for more messages before sending (Kafka's <c>linger.ms</c>). Default 0:
    /// no wait, but the batch is sent from a thread-pool thread (as Kafka's sender thread would), so messages published
    /// before it leaves (a burst) join it; messages published while a batch is in flight go in the next one anyway.
    /// Unkeyed messages stay on one partition while its batch gathers (the sticky partitioner), so a burst is one append.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.Zero;

    /// <summary>Most messages per batch. Default 1000.</summary>
    public int MaxBatchMessages { get; set; } = 1000;

    /// <summary>Most bytes per batch (a single larger message still goes alone). Default 1 MiB.</summary>
    public int MaxBatchBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Idempotent producer (default true): every message carries the producer id and a per-partition sequence number,
    /// so a retried batch is never appended twice.
    /// </summary>
    public bool Idempotent { get; set; } = true;

    /// <summary>
    /// Most batches in flight per partition (Kafka's <c>max.in.flight.requests.per.connection</c>), 1–100. Default 1.
    /// With more than one, a message published while a batch is in flight can go out at once rather than after that
    /// round trip; order is still the publish order, because the partition refuses a batch whose predecessor has not
    /// arrived and the producer re-sends it. Only an idempotent producer pipelines; otherwise one batch is in flight.
    /// The default stays 1 because on a 2-core machine more, smaller append calls cost more CPU than the round trip
    /// they save (see the benchmark README, "latency work, session 3").
    /// </summary>
    public int MaxInFlightBatches { get; set; } = 1;

    /// <summary>The producer id (default: a new GUID). Reuse one across restarts only if a single process uses it at a time.</summary>
    public string? ProducerId { get; set; }

    /// <summary>How long a publish keeps retrying transient failures before it fails. Default 30 s.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (Linger < TimeSpan.Zero || Linger > TimeSpan.FromSeconds(10))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Producer linger {Linger} must be 0–10 s.");
        }

        if (MaxBatchMessages is < 1 or > 100_000 || MaxBatchBytes < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Producer batch limits must be positive (messages ≤ 100000); got {MaxBatchMessages} messages, {MaxBatchBytes} bytes.");
        }

        if (MaxInFlightBatches is < 1 or > 100)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Producer MaxInFlightBatches {MaxInFlightBatches} must be 1–100.");
        }
    }
}
