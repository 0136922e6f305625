using System.Collections.Concurrent;
using OrleansMQ.Client.Internal;

namespace OrleansMQ.Client;

internal sealed class OrleansMQClient : IOrleansMQClient, IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly TopicCache _topics;
    private readonly ConcurrentDictionary<string, IProducer> _shared = new(StringComparer.Ordinal);
    private readonly Lazy<ReplyListener> _replies;

    public OrleansMQClient(IGrainFactory grains)
    {
        _grains = grains;
        _topics = new TopicCache(grains);
        Admin = new OrleansMQAdmin(grains, _topics);
        _replies = new Lazy<ReplyListener>(() => new ReplyListener(this));
    }

    public IOrleansMQAdmin Admin { get; }

    public IProducer CreateProducer(string topic, ProducerOptions? options = null) => new Producer(_grains, _topics, topic, options ?? new ProducerOptions());

    public IConsumer CreateConsumer(string topic, string subscription, ConsumerOptions? options = null) =>
        new Consumer(this, _grains, _topics, topic, subscription, options ?? new ConsumerOptions());

    public Task<StoredMessage> RequestAsync(string topic, Message request, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _replies.Value.RequestAsync(topic, request, timeout, cancellationToken);

    public IExchangeProducer CreateExchangeProducer(string exchange, ProducerOptions? options = null) =>
        new ExchangeProducer(_grains, exchange, options ?? new ProducerOptions());

    public IConsumer CreateQueueConsumer(string queue, ConsumerOptions? options = null) => CreateConsumer(queue, IOrleansMQAdmin.QueueSubscription, options);

    public ValueTask<PublishReceipt> PublishAsync(string topic, Message message, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        return _shared.GetOrAdd(topic, t => CreateProducer(t)).PublishAsync(message, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_replies.IsValueCreated)
        {
            await _replies.Value.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var producer in _shared.Values)
        {
            await producer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
