namespace OrleansMQ.Client;

/// <summary>The entry point for .NET apps: producers, consumers and admin. Register with <c>services.AddOrleansMQClient()</c>.</summary>
public interface IOrleansMQClient
{
    /// <summary>Admin operations.</summary>
    IOrleansMQAdmin Admin { get; }

    /// <summary>A producer for <paramref name="topic"/> (or queue).</summary>
    IProducer CreateProducer(string topic, ProducerOptions? options = null);

    /// <summary>A consumer of <paramref name="subscription"/> on <paramref name="topic"/>.</summary>
    IConsumer CreateConsumer(string topic, string subscription, ConsumerOptions? options = null);

    /// <summary>A competing consumer of a queue (its Shared subscription).</summary>
    IConsumer CreateQueueConsumer(string queue, ConsumerOptions? options = null);

    /// <summary>A producer that publishes through an exchange (routing key + bindings decide the topics and queues).</summary>
    IExchangeProducer CreateExchangeProducer(string exchange, ProducerOptions? options = null);

    /// <summary>
    /// Request–reply: publishes <paramref name="request"/> to <paramref name="topic"/> with a reply-to and a correlation id,
    /// and waits for the reply (a responder calls <see cref="Delivery.ReplyAsync"/>). Throws
    /// <see cref="ErrorCode.RequestTimeout"/> when none arrives within <paramref name="timeout"/>.
    /// </summary>
    Task<StoredMessage> RequestAsync(string topic, Message request, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Publishes one message through a shared, cached producer for the topic.</summary>
    ValueTask<PublishReceipt> PublishAsync(string topic, Message message, CancellationToken cancellationToken = default);
}
