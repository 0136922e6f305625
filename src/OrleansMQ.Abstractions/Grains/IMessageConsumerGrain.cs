namespace OrleansMQ.Grains;

/// <summary>
/// Implement this on your own grain and attach it to a subscription (<see cref="ITopicGrain.SetSubscriberAsync"/>) to have
/// the broker push batches to it, in order per partition. Returning normally acks the whole batch; throwing nacks it
/// (redelivery with backoff, then the dead-letter topic with the exception message as the reason).
/// </summary>
[Alias("omq.IMessageConsumerGrain")]
public interface IMessageConsumerGrain : IGrain
{
    /// <summary>Handles one batch of deliveries from one partition.</summary>
    [Alias("OnMessages")]
    Task OnMessagesAsync(MessageBatch batch);
}

/// <summary>A batch pushed to a subscriber grain.</summary>
[GenerateSerializer, Immutable, Alias("omq.batch")]
public sealed record MessageBatch
{
    /// <summary>The topic.</summary>
    [Id(0)] public required string Topic { get; init; }

    /// <summary>The subscription.</summary>
    [Id(1)] public required string Subscription { get; init; }

    /// <summary>The partition.</summary>
    [Id(2)] public int Partition { get; init; }

    /// <summary>The deliveries, in offset order.</summary>
    [Id(3)] public required IReadOnlyList<DeliveredMessage> Messages { get; init; }
}
