using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>Batches publishes to the exchange's router (one batch in flight; publishes meanwhile join the next batch).</summary>
internal sealed class ExchangeProducer : IExchangeProducer
{
    private readonly IRouterGrain _router;
    private readonly SerialBatcher<RoutedMessage, RoutedReceipt> _batcher;
    private bool _disposed;

    public ExchangeProducer(IGrainFactory grains, string exchange, ProducerOptions options)
    {
        Names.Validate(exchange, "exchange");
        options.Validate();
        Exchange = exchange;
        _router = grains.GetGrain<IRouterGrain>(exchange);
        _batcher = new SerialBatcher<RoutedMessage, RoutedReceipt>(
            async (batch, _) => (await _router.RouteBatchAsync(batch).ConfigureAwait(false)).Unpack(),
            options.MaxBatchMessages, options.MaxBatchBytes, options.Linger, m => MessageLimits.SizeOf(m.Message));
    }

    public string Exchange { get; }

    public ValueTask<RoutedReceipt> PublishAsync(string routingKey, Message message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(routingKey);
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        MessageLimits.Validate(message, Exchange, MessageLimits.AbsoluteMaxMessageBytes);
        return new ValueTask<RoutedReceipt>(PublishCoreAsync(routingKey, message, cancellationToken));
    }

    private async Task<RoutedReceipt> PublishCoreAsync(string routingKey, Message message, CancellationToken cancellationToken)
    {
        var receipt = await _batcher.AddAsync(new RoutedMessage(routingKey, message)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return receipt.Error is { } code ? throw new OrleansMQException(code, receipt.ErrorMessage ?? code.ToString()) : receipt;
    }

    public Task FlushAsync(CancellationToken cancellationToken = default) => _batcher.FlushAsync().WaitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await FlushAsync().ConfigureAwait(false);
            _disposed = true;
        }
    }
}
