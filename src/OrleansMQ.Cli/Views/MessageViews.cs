namespace OrleansMQ.Cli.Views;

/// <summary>
/// A message as omq prints it. <see cref="Body"/> is the UTF-8 text when the bytes are valid UTF-8
/// (<see cref="BodyEncoding"/> <c>utf8</c>), else base64 (<c>base64</c>). Delivery fields are absent for messages that
/// were read rather than delivered (<c>omq dlq list</c>).
/// </summary>
internal sealed record MessageView(
    string Topic,
    int Partition,
    long Offset,
    DateTimeOffset Timestamp,
    string? Key,
    string? MessageId,
    string? ContentType,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    string BodyEncoding,
    int? DeliveryCount = null,
    bool? Redelivered = null);

/// <summary>Where a published message landed.</summary>
internal sealed record PublishReceiptView(string Topic, int Partition, long Offset, bool Duplicate);

/// <summary>Where a message published through an exchange landed (one receipt per destination).</summary>
internal sealed record RoutedReceiptView(string Exchange, string RoutingKey, bool Alternate, IReadOnlyList<PublishReceiptView> Deliveries);

/// <summary>A dead-lettered message with the broker's dead-letter headers pulled out.</summary>
internal sealed record DeadLetterView(
    long Offset,
    string? Reason,
    string? OriginalTopic,
    int? OriginalPartition,
    long? OriginalOffset,
    string? OriginalSubscription,
    int? DeliveryCount,
    MessageView Message);

/// <summary><c>omq dlq list</c>.</summary>
internal sealed record DeadLetterListView(string Topic, string Subscription, string DeadLetterTopic, long Retained, IReadOnlyList<DeadLetterView> Messages);

/// <summary><c>omq dlq redrive</c>.</summary>
internal sealed record RedriveView(string Topic, string Subscription, int Redriven);
