using System.Collections.Concurrent;
using OrleansMQ.Client;

namespace OrleansMQ.Gateway.Publishing;

/// <summary>
/// The gateway's producers, one per topic and one per exchange, shared by every HTTP request and STOMP connection so
/// their messages batch together. A producer whose topic or exchange turns out not to exist is dropped again, so
/// requests naming random destinations cannot grow the cache.
/// </summary>
internal sealed class GatewayProducers(IOrleansMQClient client) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, IProducer> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IExchangeProducer> _exchanges = new(StringComparer.Ordinal);

    public async Task<PublishReceipt> PublishAsync(string topic, Message message, CancellationToken cancellationToken = default)
    {
        var producer = _topics.GetOrAdd(Names.Validate(topic, "topic"), t => client.CreateProducer(t));
        try
        {
            return await producer.PublishAsync(message, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
        {
            Evict(_topics, topic, producer);
            throw;
        }
    }

    public async Task<IReadOnlyList<PublishReceipt>> PublishBatchAsync(string topic, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default)
    {
        var producer = _topics.GetOrAdd(Names.Validate(topic, "topic"), t => client.CreateProducer(t));
        try
        {
            return await producer.PublishBatchAsync(messages, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
        {
            Evict(_topics, topic, producer);
            throw;
        }
    }

    public async Task<RoutedReceipt> PublishToExchangeAsync(string exchange, string routingKey, Message message, CancellationToken cancellationToken = default)
    {
        var producer = _exchanges.GetOrAdd(Names.Validate(exchange, "exchange"), e => client.CreateExchangeProducer(e));
        try
        {
            return await producer.PublishAsync(routingKey, message, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
        {
            Evict(_exchanges, exchange, producer);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var producer in _topics.Values)
        {
            await producer.DisposeAsync();
        }

        foreach (var producer in _exchanges.Values)
        {
            await producer.DisposeAsync();
        }
    }

    private static void Evict<T>(ConcurrentDictionary<string, T> cache, string name, T producer)
        where T : IAsyncDisposable
    {
        if (cache.TryRemove(new KeyValuePair<string, T>(name, producer)))
        {
            // Flushes whatever else was queued on it; those calls complete (or fail) on their own.
            _ = producer.DisposeAsync().AsTask();
        }
    }
}
