namespace OrleansMQ;

/// <summary>One delivery of a stored message to a consumer.</summary>
[GenerateSerializer, Immutable, Alias("omq.delivered")]
public sealed record DeliveredMessage
{
    /// <summary>The message.</summary>
    [Id(0)] public required StoredMessage Message { get; init; }

    /// <summary>How many times this message has been delivered on this subscription, this delivery included (1 = first).</summary>
    [Id(1)] public int DeliveryCount { get; init; } = 1;

    /// <summary>The subscription it was delivered on.</summary>
    [Id(2)] public required string Subscription { get; init; }

    /// <summary>True when the message was delivered before (lease expired, nack, consumer lost, seek).</summary>
    public bool Redelivered => DeliveryCount > 1;

    /// <summary>The tag that identifies this delivery in ack/nack calls.</summary>
    public DeliveryTag Tag => new(Message.Offset, DeliveryCount);
}

/// <summary>Identifies one delivery of one message within a subscription partition: the offset and the delivery attempt.</summary>
[GenerateSerializer, Immutable, Alias("omq.tag")]
public readonly record struct DeliveryTag([property: Id(0)] long Offset, [property: Id(1)] int Attempt);
