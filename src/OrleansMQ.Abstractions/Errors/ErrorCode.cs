namespace OrleansMQ;

/// <summary>Stable error codes carried by <see cref="OrleansMQException"/>. Values are part of the wire contract: never renumber.</summary>
public enum ErrorCode
{
    /// <summary>An unexpected internal failure.</summary>
    Internal = 0,
    /// <summary>The topic, queue, subscription or partition does not exist.</summary>
    NotFound = 1,
    /// <summary>An entity with that name already exists with a different definition.</summary>
    AlreadyExists = 2,
    /// <summary>A topic, queue or subscription name breaks the naming rule.</summary>
    InvalidName = 3,
    /// <summary>A message body (plus headers) is larger than the configured limit.</summary>
    MessageTooLarge = 4,
    /// <summary>The partition backlog is at its configured limit; publish later.</summary>
    BacklogFull = 5,
    /// <summary>The caller presented no credentials, or invalid or expired ones (HTTP 401).</summary>
    Unauthorized = 6,
    /// <summary>An argument is out of range or malformed.</summary>
    InvalidArgument = 7,
    /// <summary>The delivery being acked or nacked is unknown to the subscription.</summary>
    UnknownDelivery = 8,
    /// <summary>The delivery's lease expired and the message was handed out again; this ack/nack is stale.</summary>
    DeliveryExpired = 9,
    /// <summary>An Exclusive subscription already has an active consumer.</summary>
    ConsumerBusy = 10,
    /// <summary>Too many headers or headers too large.</summary>
    HeadersTooLarge = 11,
    /// <summary>An idempotent producer sent a sequence number that leaves a gap.</summary>
    OutOfOrderSequence = 12,
    /// <summary>The operation does not apply to this subscription type.</summary>
    InvalidOperation = 13,
    /// <summary>No binding of the exchange matched the message and the exchange has no alternate.</summary>
    Unroutable = 14,
    /// <summary>A request got no reply within its timeout.</summary>
    RequestTimeout = 15,
    /// <summary>The caller is authenticated but its access rules do not allow the operation on that resource (HTTP 403).</summary>
    Forbidden = 16,
    /// <summary>A connection or subscription limit was reached; the message names the limit and its setting.</summary>
    LimitExceeded = 17,
    /// <summary>The broker's storage is out of space: the publish was not acknowledged. Retry once space is freed.</summary>
    StorageFull = 18,
    /// <summary>
    /// The consumer was fenced off an Exclusive subscription: a newer consumer claimed it, so this one may no longer
    /// receive, acknowledge or move the cursor (an Orleans Streams pulling agent whose queue moved to another silo).
    /// </summary>
    ConsumerFenced = 40,
}
