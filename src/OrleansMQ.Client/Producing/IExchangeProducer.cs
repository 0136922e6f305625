namespace OrleansMQ.Client;

/// <summary>Publishes through an exchange. Thread-safe; keep one per exchange.</summary>
public interface IExchangeProducer : IAsyncDisposable
{
    /// <summary>The exchange.</summary>
    string Exchange { get; }

    /// <summary>
    /// Publishes one message with a routing key. Completes once it is durable in every destination the bindings chose
    /// (receipts per destination). <see cref="ErrorCode.Unroutable"/> when nothing matched and the exchange has no alternate.
    /// </summary>
    ValueTask<RoutedReceipt> PublishAsync(string routingKey, Message message, CancellationToken cancellationToken = default);

    /// <summary>Completes when everything published so far has been sent.</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
