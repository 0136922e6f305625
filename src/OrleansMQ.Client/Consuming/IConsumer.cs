namespace OrleansMQ.Client;

/// <summary>Reads one subscription of one topic (all partitions). Dispose it to leave: its unacked messages go to other consumers at once.</summary>
public interface IConsumer : IAsyncDisposable
{
    /// <summary>The topic.</summary>
    string Topic { get; }

    /// <summary>The subscription.</summary>
    string Subscription { get; }

    /// <summary>This consumer's id.</summary>
    string ConsumerId { get; }

    /// <summary>
    /// The deliveries, as they arrive (in order per partition). Ack or nack each one; unacked deliveries of Shared and
    /// KeyShared subscriptions come back after the ack timeout. Call it once per consumer.
    /// Throws <see cref="OrleansMQException"/> for a missing topic/subscription or <see cref="ErrorCode.ConsumerBusy"/>.
    /// </summary>
    IAsyncEnumerable<Delivery> ConsumeAsync(CancellationToken cancellationToken = default);
}
