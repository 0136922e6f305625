namespace OrleansMQ;

/// <summary>Header names the broker sets.</summary>
public static class Headers
{
    /// <summary>Why a message was dead-lettered (the nack reason, the subscriber's exception, or the ack timeout).</summary>
    public const string DeadLetterReason = "omq-dlq-reason";

    /// <summary>The topic a dead-lettered message came from.</summary>
    public const string OriginalTopic = "omq-original-topic";

    /// <summary>The partition a dead-lettered message came from.</summary>
    public const string OriginalPartition = "omq-original-partition";

    /// <summary>The offset a dead-lettered message had in its original partition.</summary>
    public const string OriginalOffset = "omq-original-offset";

    /// <summary>The subscription that dead-lettered the message.</summary>
    public const string OriginalSubscription = "omq-original-subscription";

    /// <summary>How many times it had been delivered when it was dead-lettered.</summary>
    public const string DeliveryCount = "omq-delivery-count";

    /// <summary>Set to "true" on messages re-driven from a dead-letter topic.</summary>
    public const string Redriven = "omq-redriven";

    /// <summary>Set on messages routed through an exchange: the routing key they were published with.</summary>
    public const string RoutingKey = "omq-routing-key";

    /// <summary>Set on messages routed through an exchange: the exchange's name.</summary>
    public const string Exchange = "omq-exchange";

    /// <summary>Delay before delivery in milliseconds, counted from the message time stamp (Shared/KeyShared subscriptions).</summary>
    public const string DelayMs = "omq-delay-ms";

    /// <summary>Absolute delivery time in Unix milliseconds (Shared/KeyShared subscriptions).</summary>
    public const string DeliverAt = "omq-deliver-at";

    /// <summary>Time-to-live in milliseconds, counted from the message time stamp; expired messages are not delivered.</summary>
    public const string TimeToLiveMs = "omq-ttl-ms";

    /// <summary>Priority 0 (default, lowest) to 9 (highest), honoured by Shared subscriptions.</summary>
    public const string Priority = "omq-priority";

    /// <summary>Request–reply: the topic the reply should be published to.</summary>
    public const string ReplyTo = "omq-reply-to";

    /// <summary>Request–reply: the id that ties a reply to its request.</summary>
    public const string CorrelationId = "omq-correlation-id";
}
