using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using OrleansMQ.Grains;
using OrleansMQ.Streaming.Internal;

namespace OrleansMQ.Streaming;

/// <summary>
/// The queue adapter of an OrleansMQ stream provider. Queue i is partition i of the provider's topic (a stream is
/// hashed onto the ring of queues, so all its events land in one partition, in order). Publishing appends through the
/// partition grain, so an <c>OnNextAsync</c> completes only once the events are durable. Receivers read through an
/// Exclusive subscription and acknowledge what was delivered; the caches rewind from the log.
/// </summary>
public sealed class OrleansMQQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly OrleansMQStreamOptions _options;
    private readonly IGrainFactory _grains;
    private readonly StreamMessageCodec _codec;
    private readonly ILoggerFactory _loggerFactory;
    private readonly HashRingBasedPartitionedStreamQueueMapper _mapper;
    private readonly ConcurrentDictionary<QueueId, PartitionQueueCache> _caches = new();
    private readonly string _topic;
    private readonly Lock _readyLock = new();
    private Task? _ready;

    /// <summary>Creates the adapter factory of provider <paramref name="name"/>.</summary>
    public OrleansMQQueueAdapterFactory(string name, OrleansMQStreamOptions options, IGrainFactory grains, Serializer serializer, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _options = options;
        _grains = grains;
        _codec = new StreamMessageCodec(serializer);
        _loggerFactory = loggerFactory;
        _topic = options.TopicFor(name);
        var partitions = Enumerable.Range(0, options.Partitions).Select(p => p.ToString(CultureInfo.InvariantCulture)).ToList();
        _mapper = new HashRingBasedPartitionedStreamQueueMapper(partitions, name);
    }

    /// <summary>The factory used by the hosting extensions.</summary>
    public static OrleansMQQueueAdapterFactory Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<OrleansMQStreamOptions>>().Get(name);
        return ActivatorUtilities.CreateInstance<OrleansMQQueueAdapterFactory>(services, name, options);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The topic holding this provider's streams.</summary>
    public string Topic => _topic;

    /// <summary>True: a subscription can start at any retained offset or time (<see cref="OrleansMQStreamSequenceToken"/>).</summary>
    public bool IsRewindable => true;

    /// <inheritdoc />
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    /// <summary>The partition that holds a stream's events.</summary>
    public int PartitionOf(StreamId streamId) => PartitionOf(_mapper.GetQueueForStream(streamId));

    /// <inheritdoc />
    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => CreateAdapter(CancellationToken.None);

    /// <summary>Returns this adapter. The topic and subscription are created on first use (a client may not be connected yet).</summary>
    public Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken) => Task.FromResult<IQueueAdapter>(this);

    /// <inheritdoc />
    public IQueueAdapterCache GetQueueAdapterCache() => this;

    /// <inheritdoc />
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    /// <inheritdoc />
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler());

    /// <inheritdoc />
    public IQueueCache CreateQueueCache(QueueId queueId)
    {
        var cache = new PartitionQueueCache(_options.ReadBatchSize, _options.MaxCachedMessages, _loggerFactory.CreateLogger<PartitionQueueCache>());
        _caches[queueId] = cache;
        return cache;
    }

    /// <inheritdoc />
    public IQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        // The agent creates the cache first; the receiver feeds that cache's rewinds.
        var cache = _caches.GetOrAdd(queueId, _ => new PartitionQueueCache(_options.ReadBatchSize, _options.MaxCachedMessages, _loggerFactory.CreateLogger<PartitionQueueCache>()));
        return new PartitionReceiver(_grains, _options, Name, _topic, PartitionOf(queueId), EnsureTopicAsync, cache, _codec, _loggerFactory.CreateLogger<PartitionReceiver>());
    }

    /// <summary>Appends the events (one message each, in order) to the stream's partition; completes once they are durable.</summary>
    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Stream provider '{Name}' assigns positions itself; publish without a sequence token.");
        }

        var messages = events.Select(e => _codec.Encode(streamId, e)).ToList();
        if (messages.Count == 0)
        {
            return;
        }

        await EnsureTopicAsync().ConfigureAwait(false);
        var partition = PartitionOf(streamId);
        await _grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(_topic, partition)).AppendAsync(new AppendRequest { Messages = messages }).ConfigureAwait(false);
    }

    private int PartitionOf(QueueId queueId) => int.Parse(_mapper.QueueToPartition(queueId), CultureInfo.InvariantCulture);

    /// <summary>Creates the topic and the provider's subscription once (again after a failure).</summary>
    private Task EnsureTopicAsync()
    {
        lock (_readyLock)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = CreateTopicAsync();
            }

            return _ready;
        }
    }

    private async Task CreateTopicAsync()
    {
        var topic = _grains.GetGrain<ITopicGrain>(_topic);
        var info = await topic.TryGetAsync().ConfigureAwait(false)
            ?? await topic.CreateAsync(new TopicSpec { Partitions = _options.Partitions, Retention = _options.Retention }).ConfigureAwait(false);
        if (info.Spec.Partitions != _options.Partitions)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Stream provider '{Name}': topic '{_topic}' has {info.Spec.Partitions} partitions but the provider is configured with {_options.Partitions}.");
        }

        if (!info.Subscriptions.ContainsKey(_options.Subscription))
        {
            await topic.CreateSubscriptionAsync(_options.Subscription, new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest }).ConfigureAwait(false);
        }
    }
}
