using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>
/// Batches per partition (up to <see cref="ProducerOptions.MaxInFlightBatches"/> batches in flight per partition, kept in
/// publish order by the partition's sequence check; see <see cref="AppendPipeline"/>), retries
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
    private int _sticky = -1;
    private Task _chain = Task.CompletedTask;
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

    public ValueTask<PublishReceipt> PublishAsync(Message message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var receipt = Enqueue([message])[0].WaitAsync(cancellationToken);
        return new ValueTask<PublishReceipt>(OrleansMQTelemetry.PublishDuration.Enabled ? TimedAsync(receipt, started) : receipt);
    }

    private async Task<T> TimedAsync<T>(Task<T> publish, long started)
    {
        var result = await publish.ConfigureAwait(false);
        OrleansMQTelemetry.PublishDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("topic", Topic));
        return result;
    }

    public async Task<IReadOnlyList<PublishReceipt>> PublishBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = messages as IReadOnlyList<Message> ?? messages.ToList();
        foreach (var m in list)
        {
            ArgumentNullException.ThrowIfNull(m);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var receipts = Task.WhenAll(Enqueue(list)).WaitAsync(cancellationToken);
        return await (OrleansMQTelemetry.PublishDuration.Enabled ? TimedAsync(receipts, started) : receipts).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands messages to their partition writers in call order. While topic metadata is loading, calls queue up behind
    /// each other (a chain of enqueue steps) so that the order of PublishAsync calls is the order on each partition.
    /// </summary>
    private Task<PublishReceipt>[] Enqueue(IReadOnlyList<Message> messages)
    {
        lock (_lock)
        {
            if (_chain.IsCompleted && _topics.TryGetCached(Topic, out var info))
            {
                return Route(info, messages);
            }

            var step = EnqueueAfterAsync(_chain, messages);
            _chain = step;
            var results = new Task<PublishReceipt>[messages.Count];
            for (var i = 0; i < results.Length; i++)
            {
                var index = i;
                results[i] = step.ContinueWith(t => t.Result[index], CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
            }

            return results;
        }
    }

    private async Task<Task<PublishReceipt>[]> EnqueueAfterAsync(Task previous, IReadOnlyList<Message> messages)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        TopicInfo info;
        try
        {
            info = await _topics.GetAsync(Topic).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return [.. messages.Select(_ => Task.FromException<PublishReceipt>(ex))];
        }

        lock (_lock)
        {
            return Route(info, messages);
        }
    }

    private Task<PublishReceipt>[] Route(TopicInfo topic, IReadOnlyList<Message> messages)
    {
        var results = new Task<PublishReceipt>[messages.Count];
        try
        {
            foreach (var m in messages)
            {
                MessageLimits.Validate(m, Topic, topic.Spec.MaxMessageBytes);
            }
        }
        catch (OrleansMQException ex)
        {
            Array.Fill(results, Task.FromException<PublishReceipt>(ex));
            return results;
        }

        if (System.Diagnostics.Activity.Current is { } current)
        {
            // Carry the caller's trace to the consumers (W3C trace context in a header).
            var traced = new Message[messages.Count];
            for (var i = 0; i < traced.Length; i++)
            {
                traced[i] = messages[i].Headers?.ContainsKey(OrleansMQTelemetry.TraceParentHeader) == true
                    ? messages[i]
                    : messages[i].WithHeader(OrleansMQTelemetry.TraceParentHeader, current.Id!);
            }

            messages = traced;
        }

        // Unkeyed messages stay on one partition while its batch gathers (sticky, like Kafka's partitioner; with a
        // linger, later calls join it too), so a batch is one append. On a de-duplicating topic an id without a key picks
        // the partition, so a re-sent message meets its first copy.
        var sticky = StickyPartition(topic.Spec.Partitions);
        for (var i = 0; i < messages.Count; i++)
        {
            var partition = (messages[i].Key ?? (topic.Spec.DeduplicationWindow is null ? null : messages[i].MessageId)) is { } key
                ? Partitioner.ForKey(key, topic.Spec.Partitions)
                : sticky;
            results[i] = WriterFor(partition).AddAsync(messages[i]);
        }

        return results;
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

    /// <summary>
    /// The producer's state for diagnostics: whether publishes wait for topic metadata, and per partition what is queued
    /// and which batches are in flight (sent or not, answered or not, how long ago).
    /// </summary>
    public override string ToString()
    {
        lock (_lock)
        {
            var text = new System.Text.StringBuilder();
            text.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"producer {_baseId} on {Topic}: metadata {(_topics.TryGetCached(Topic, out _) ? "cached" : "not cached")}, {(_chain.IsCompleted ? "no publishes waiting for it" : "publishes waiting for it")}");
            foreach (var (partition, writer) in _writers.OrderBy(w => w.Key))
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n  partition {partition}: {writer.Describe()}");
            }

            return text.ToString();
        }
    }

    private int NextPartition(int partitions) => (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitions);

    // Under the lock: the partition whose batch is still gathering, else the next one round-robin.
    private int StickyPartition(int partitions)
    {
        if (_sticky < partitions && _writers.TryGetValue(_sticky, out var writer) && writer.Gathering)
        {
            return _sticky;
        }

        return _sticky = NextPartition(partitions);
    }

    private PartitionWriter WriterFor(int partition)
    {
        if (!_writers.TryGetValue(partition, out var writer))
        {
            writer = new PartitionWriter(this, partition);
            _writers[partition] = writer;
        }

        return writer;
    }

    private sealed class PartitionWriter
    {
        private readonly AppendPipeline _pipeline;

        public PartitionWriter(Producer owner, int partition)
        {
            var grain = owner._grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(owner.Topic, partition));
            _pipeline = new AppendPipeline(grain.AppendAsync, () => owner._topics.Invalidate(owner.Topic), owner._options, owner._baseId);
        }

        public Task<PublishReceipt> AddAsync(Message message) => _pipeline.AddAsync(message);

        public bool Gathering => _pipeline.Gathering;

        public Task FlushAsync() => _pipeline.FlushAsync();

        public string Describe() => _pipeline.Describe();
    }
}
