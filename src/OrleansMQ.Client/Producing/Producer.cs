using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>
/// Batches per partition (one batch in flight per partition, so order per partition is the publish order), retries
/// transient failures with the same sequence numbers, and starts a new producer epoch after an ambiguous failure so a
/// sequence can never be reused for a different message.
/// </summary>
internal sealed class Producer : IProducer
{
    private readonly IGrainFactory _grains;
    private readonly TopicCache _topics;
    private readonly ProducerOptions _options;
    private readonly string _baseId;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, PartitionWriter> _writers = [];
    private int _roundRobin;
    private bool _disposed;

    public Producer(IGrainFactory grains, TopicCache topics, string topic, ProducerOptions options)
    {
        Names.Validate(topic, "topic");
        options.Validate();
        _grains = grains;
        _topics = topics;
        _options = options;
        Topic = topic;
        _baseId = options.ProducerId ?? Guid.NewGuid().ToString("N");
    }

    public string Topic { get; }

    public async ValueTask<PublishReceipt> PublishAsync(Message message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var topic = await _topics.GetAsync(Topic).ConfigureAwait(false);
        MessageLimits.Validate(message, Topic, topic.Spec.MaxMessageBytes);
        var partition = message.Key is { } key ? Partitioner.ForKey(key, topic.Spec.Partitions) : NextPartition(topic.Spec.Partitions);
        return await WriterFor(partition).AddAsync(message).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PublishReceipt>> PublishBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = messages as IReadOnlyList<Message> ?? messages.ToList();
        var topic = await _topics.GetAsync(Topic).ConfigureAwait(false);
        foreach (var m in list)
        {
            ArgumentNullException.ThrowIfNull(m);
            MessageLimits.Validate(m, Topic, topic.Spec.MaxMessageBytes);
        }

        // Unkeyed messages of one batch stay together on one partition (sticky, like Kafka), so a batch is one append.
        var sticky = NextPartition(topic.Spec.Partitions);
        var tasks = new Task<PublishReceipt>[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var partition = list[i].Key is { } key ? Partitioner.ForKey(key, topic.Spec.Partitions) : sticky;
            tasks[i] = WriterFor(partition).AddAsync(list[i]);
        }

        return await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        PartitionWriter[] writers;
        lock (_lock)
        {
            writers = [.. _writers.Values];
        }

        await Task.WhenAll(writers.Select(w => w.FlushAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await FlushAsync().ConfigureAwait(false);
        _disposed = true;
    }

    private int NextPartition(int partitions) => (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitions);

    private PartitionWriter WriterFor(int partition)
    {
        lock (_lock)
        {
            if (!_writers.TryGetValue(partition, out var writer))
            {
                writer = new PartitionWriter(this, partition);
                _writers[partition] = writer;
            }

            return writer;
        }
    }

    private sealed class PartitionWriter
    {
        private readonly Producer _owner;
        private readonly IPartitionGrain _grain;
        private readonly SerialBatcher<Message, PublishReceipt> _batcher;
        private int _epoch;
        private long _nextSequence;

        public PartitionWriter(Producer owner, int partition)
        {
            _owner = owner;
            _grain = owner._grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(owner.Topic, partition));
            _batcher = new SerialBatcher<Message, PublishReceipt>(SendAsync, owner._options.MaxBatchMessages, owner._options.MaxBatchBytes,
                owner._options.Linger, MessageLimits.SizeOf);
        }

        public Task<PublishReceipt> AddAsync(Message message) => _batcher.AddAsync(message);

        public Task FlushAsync() => _batcher.FlushAsync();

        private async Task<IReadOnlyList<PublishReceipt>> SendAsync(IReadOnlyList<Message> batch, CancellationToken cancellationToken)
        {
            var options = _owner._options;
            var request = new AppendRequest
            {
                Messages = batch,
                ProducerId = options.Idempotent ? $"{_owner._baseId}.{_epoch}" : null,
                FirstSequence = _nextSequence,
            };
            var deadline = DateTime.UtcNow + options.DeliveryTimeout;
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var receipts = await _grain.AppendAsync(request).ConfigureAwait(false);
                    _nextSequence += batch.Count;
                    return receipts;
                }
                catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
                {
                    _owner._topics.Invalidate(_owner.Topic);
                    throw;
                }
                catch (Exception ex) when (Transient.IsTransient(ex) && DateTime.UtcNow < deadline && options.Idempotent)
                {
                    // Same producer id and sequences: if the first try was written, the retry is acknowledged as a duplicate.
                    await Task.Delay(Transient.Backoff(attempt), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (Transient.IsTransient(ex) || ex is OperationCanceledException)
                {
                    // Unknown outcome: never reuse these sequence numbers for other messages.
                    _epoch++;
                    _nextSequence = 0;
                    throw;
                }
            }
        }
    }
}
