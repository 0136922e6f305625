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

    /// <summary>Publishes one message through a shared, cached producer for the topic.</summary>
    ValueTask<PublishReceipt> PublishAsync(string topic, Message message, CancellationToken cancellationToken = default);
}
