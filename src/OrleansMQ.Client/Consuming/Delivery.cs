namespace OrleansMQ.Client;

/// <summary>A message delivered to a consumer, with the means to acknowledge it.</summary>
public sealed class Delivery
{
    private readonly Consumer _consumer;
    private int _settled;

    internal Delivery(Consumer consumer, DeliveredMessage delivered)
    {
        _consumer = consumer;
        Delivered = delivered;
        // A consumer span per delivery, child of the producer's trace when the message carries one; it ends at ack/nack.
        var parent = delivered.Message.Headers.TryGetValue(OrleansMQTelemetry.TraceParentHeader, out var traceParent)
            && System.Diagnostics.ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        Activity = OrleansMQTelemetry.ActivitySource.StartActivity($"process {delivered.Message.Topic}", System.Diagnostics.ActivityKind.Consumer, parent);
        Activity?.SetTag("messaging.system", "orleansmq");
        Activity?.SetTag("messaging.destination.name", delivered.Message.Topic);
        Activity?.SetTag("messaging.consumer.group.name", delivered.Subscription);
        Activity?.SetTag("messaging.message.id", delivered.Message.MessageId);
        // Don't leave it as the ambient activity of the consumer's loop.
        if (Activity is not null && System.Diagnostics.Activity.Current == Activity)
        {
            System.Diagnostics.Activity.Current = Activity.Parent;
        }
    }

    /// <summary>The consumer span of this delivery (null when nobody listens); it ends when the delivery is acked or nacked.</summary>
    public System.Diagnostics.Activity? Activity { get; }

    /// <summary>The wire delivery.</summary>
    public DeliveredMessage Delivered { get; }

    /// <summary>The message.</summary>
    public StoredMessage Message => Delivered.Message;

    /// <summary>The topic.</summary>
    public string Topic => Message.Topic;

    /// <summary>The partition.</summary>
    public int Partition => Message.Partition;

    /// <summary>The offset in the partition.</summary>
    public long Offset => Message.Offset;

    /// <summary>How many times the message has been delivered on this subscription, this time included.</summary>
    public int DeliveryCount => Delivered.DeliveryCount;

    /// <summary>True when the message was delivered before.</summary>
    public bool Redelivered => Delivered.Redelivered;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyAsString() => Message.BodyAsString();

    /// <summary>
    /// Acknowledges the message (Exclusive/Failover: and every earlier one on this partition). Acks are batched.
    /// Throws <see cref="ErrorCode.DeliveryExpired"/> when the lease ran out and the message was handed out again.
    /// </summary>
    public Task AckAsync(CancellationToken cancellationToken = default)
    {
        Settle();
        return _consumer.AckAsync(this, cancellationToken);
    }

    /// <summary>
    /// Acknowledges without waiting for the broker (RabbitMQ's <c>basic.ack</c>, Pulsar's grouped acknowledgements): the
    /// ack joins this partition's next ack batch, which leaves within <see cref="ConsumerOptions.AckGroupTime"/> (at once
    /// when an <see cref="AckAsync"/> or a dispose comes first), so a busy consumer sends one ack call per partition and
    /// group time instead of one per round trip. The credit comes back at once, as with <see cref="AckAsync"/>. An ack
    /// that never reaches the broker (the process stops, the lease ran out) means the message is delivered again:
    /// at-least-once. Use <see cref="AckAsync"/> to know the ack is durable.
    /// </summary>
    public void Ack()
    {
        Settle();
        _consumer.Ack(this);
    }

    /// <summary>Negatively acknowledges: redelivered after the backoff, or dead-lettered (with <paramref name="reason"/>) after max deliveries.</summary>
    public Task NackAsync(string? reason = null, CancellationToken cancellationToken = default)
    {
        Settle();
        return _consumer.NackAsync(this, reason, cancellationToken);
    }

    /// <summary>
    /// Request–reply: publishes <paramref name="reply"/> to this message's reply-to topic with its correlation id.
    /// <see cref="ErrorCode.InvalidOperation"/> when the message is not a request.
    /// </summary>
    public async Task<PublishReceipt> ReplyAsync(Message reply, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (!Message.Headers.TryGetValue(Headers.ReplyTo, out var replyTo) || !Message.Headers.TryGetValue(Headers.CorrelationId, out var correlationId))
        {
            throw new OrleansMQException(ErrorCode.InvalidOperation, $"Message {Topic}/{Partition}@{Offset} has no reply-to and correlation id: it is not a request.");
        }

        return await _consumer.Client.PublishAsync(replyTo, reply.WithHeader(Headers.CorrelationId, correlationId), cancellationToken).ConfigureAwait(false);
    }

    private void Settle()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            throw new OrleansMQException(ErrorCode.InvalidOperation, $"Delivery {Topic}/{Partition}@{Offset} was already acked or nacked.");
        }

        Activity?.Stop();
    }
}
