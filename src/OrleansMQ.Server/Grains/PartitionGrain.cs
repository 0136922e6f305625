using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Storage;
using OrleansMQ.Server.Telemetry;

namespace OrleansMQ.Server.Grains;

/// <summary>
/// Owns one partition's durable log. Reentrant on purpose: concurrent appends must reach the log together so that one
/// group commit (one fsync) acknowledges them all. Every state change happens synchronously between awaits, offsets are
/// reserved before the first await, and appends complete in offset order, so interleaving is safe.
/// </summary>
[Reentrant]
[GrainType("omq.partition")]
// A topic grain activates all its partitions at once, and the default placement would keep them on the caller's silo;
// random placement spreads a topic's partitions (the unit of parallelism) over the cluster.
[Orleans.Placement.RandomPlacement]
internal sealed partial class PartitionGrain(
    IMessageLogFactory logFactory,
    [FromKeyedServices(OrleansMQServerOptions.TimeProviderKey)] TimeProvider time,
    IOptions<OrleansMQServerOptions> options,
    ILogger<PartitionGrain> logger) : Grain, IPartitionGrain
{
    private readonly OrleansMQServerOptions _options = options.Value;
    private readonly Dictionary<string, ProducerWindow> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _ackFloors = new(StringComparer.Ordinal);
    private string _topic = "";
    private int _partition;
    private IMessageLog? _log;
    private TopicInfo? _topicInfo;
    private long _nextOffset;
    private long _lastNotified = -1;
    // Subscription grain references by subscription name: GetGrain resolves the interface type by reflection each call
    // (~4 % of the CPU at 10k msg/s when done per notification).
    private readonly Dictionary<string, ISubscriptionGrain> _subscriptionGrains = new(StringComparer.Ordinal);
    private Task _tail = Task.CompletedTask;
    private bool _faulted;
    private DeduplicationWindow? _dedup;
    private GaugeCell? _backlogGauge;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_topic, _partition) = GrainKeys.ParsePartition(this.GetPrimaryKeyString());
        _topicInfo = await GrainFactory.GetGrain<ITopicGrain>(_topic).TryGetAsync();
        _log = await logFactory.OpenAsync(_topic, _partition, cancellationToken);
        _nextOffset = _log.HighWatermark;
        ConfigureDeduplication();
        await RebuildWindowsAsync(cancellationToken);
        this.RegisterGrainTimer(ApplyRetentionAsync, new GrainTimerCreationOptions(_options.RetentionInterval, _options.RetentionInterval) { Interleave = true });
        // Ack floors are reported by subscriptions as they change; ask once now so that backlog limits and
        // acknowledged-based retention are right straight after a restart (after activation: the cursors call back).
        this.RegisterGrainTimer(RefreshAckFloorsAsync, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
        _backlogGauge = BrokerGauges.AddBacklog(_topic, _partition);
        UpdateBacklogGauge();
        LogActivated(logger, _topic, _partition, _log.LowWatermark, _log.HighWatermark);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        BrokerGauges.Remove(_backlogGauge);
        _backlogGauge = null;
        if (_log is not null)
        {
            await _log.DisposeAsync();
            _log = null;
        }
    }

    public async Task<PublishReceipt[]> AppendAsync(AppendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var topic = EnsureTopic();
        var log = _log!;
        var messages = request.Messages;
        if (messages.Count == 0)
        {
            return [];
        }

        var hints = request.Hints;
        if (hints?.ValidatedMaxBytes != topic.Spec.MaxMessageBytes)
        {
            foreach (var message in messages)
            {
                MessageLimits.Validate(message, _topic, topic.Spec.MaxMessageBytes);
            }
        }

        var sharedTails = request.ProducerId is null && hints?.SharedTails is { } tails && tails.Length == messages.Count ? tails : null;

        // Allocated at the first duplicate: a batch appended whole is answered with its first offset (see Answer).
        PublishReceipt[]? receipts = null;
        var records = new List<LogRecord>(messages.Count);
        ProducerWindow? window = null;
        var awaitEarlier = false;
        if (request.ProducerId is { } producerId)
        {
            if (!_producers.TryGetValue(producerId, out window))
            {
                window = new ProducerWindow(_options.ProducerWindow);
                _producers[producerId] = window;
            }

            if (request.FirstSequence < 0)
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument, $"Producer '{producerId}': sequence {request.FirstSequence} must be ≥ 0.");
            }

            var next = window.LastSequence + 1;
            if (request.FirstSequence > next)
            {
                throw new OrleansMQException(ErrorCode.OutOfOrderSequence,
                    $"Producer '{producerId}' on '{_topic}/{_partition}': expected sequence {next}, got {request.FirstSequence}.");
            }
        }

        var now = time.GetUtcNow();
        var newCount = 0;
        HashSet<string>? idsInBatch = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var sequence = request.FirstSequence + i;
            long original;
            if (window is not null && sequence <= window.LastSequence)
            {
                original = window.OffsetOf(sequence) ?? -1;
            }
            else if (_dedup is not null && messages[i].MessageId is { } id && _dedup.TryGet(id, now, out original))
            {
                // Seen within the de-duplication window: acknowledge with the first copy's offset.
            }
            else
            {
                if (_dedup is not null && messages[i].MessageId is { } batchId && !(idsInBatch ??= new(StringComparer.Ordinal)).Add(batchId))
                {
                    // The same id twice in one batch: the later one is resolved after offsets are assigned below.
                    (receipts ??= new PublishReceipt[messages.Count])[i] = new PublishReceipt(_partition, -1, Duplicate: true);
                    continue;
                }

                newCount++;
                continue;
            }

            (receipts ??= new PublishReceipt[messages.Count])[i] = new PublishReceipt(_partition, original, Duplicate: true);
            awaitEarlier |= original >= log.HighWatermark;
        }

        if (newCount > 0)
        {
            CheckBacklog(topic.Spec, newCount, messages);
        }

        var firstOffset = _nextOffset;
        var offset = firstOffset;
        for (var i = 0; i < messages.Count; i++)
        {
            if (receipts is not null && receipts[i].Duplicate)
            {
                continue;
            }

            var m = messages[i];
            records.Add(new LogRecord
            {
                Timestamp = m.Timestamp ?? now,
                Key = m.Key,
                MessageId = m.MessageId,
                ContentType = m.ContentType,
                Headers = m.Headers,
                Body = m.Body,
                ProducerId = request.ProducerId,
                Sequence = request.FirstSequence + i,
                Shared = sharedTails?[i], // also its EncodedTail
            });
            window?.Record(request.FirstSequence + i, offset);
            if (m.MessageId is { } messageId)
            {
                _dedup?.Add(messageId, offset, now);
            }

            if (receipts is not null)
            {
                receipts[i] = new PublishReceipt(_partition, offset, Duplicate: false);
            }

            offset++;
        }

        if (idsInBatch is not null && receipts is not null) // ids repeated within the batch (only they left offset -1)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                if (receipts[i] is { Duplicate: true, Offset: -1 } && messages[i].MessageId is { } id && _dedup!.TryGet(id, now, out var first))
                {
                    receipts[i] = new PublishReceipt(_partition, first, Duplicate: true);
                }
            }
        }

        if (records.Count == 0)
        {
            if (awaitEarlier)
            {
                // A retry of a batch that is still being written: answer only once the original is durable.
                await _tail;
            }

            return Answer(receipts, firstOffset, messages.Count, hints);
        }

        _nextOffset = offset;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var append = log.AppendAsync(records).AsTask();
        _tail = append;
        try
        {
            await append;
        }
        catch (LogFencedException ex)
        {
            throw FencedOff(ex); // nothing of this batch was stored; the retry reaches the owner
        }
        catch (Exception ex)
        {
            // Offsets and producer sequences were reserved for records that may not be on disk. Rebuild everything
            // from the log on a fresh activation rather than guess.
            _faulted = true;
            LogAppendFailed(logger, ex, _topic, _partition);
            DeactivateOnIdle();
            throw StorageErrors.IsDiskFull(ex)
                ? new OrleansMQException(ErrorCode.StorageFull, $"Append to '{_topic}/{_partition}' failed: the broker's storage is full (no space left on device); nothing from this batch was acknowledged. Retry once space is freed.", ex)
                : new OrleansMQException(ErrorCode.Internal, $"Append to '{_topic}/{_partition}' failed; nothing from this batch was acknowledged.", ex);
        }

        var tag = new KeyValuePair<string, object?>("topic", _topic);
        OrleansMQTelemetry.Published.Add(records.Count, tag);
        OrleansMQTelemetry.AppendBatchSize.Record(records.Count, tag);
        OrleansMQTelemetry.AppendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, tag);
        NotifySubscriptions(records);
        UpdateBacklogGauge();
        return Answer(receipts, firstOffset, messages.Count, hints);
    }

    // With hints (a router in this silo), the receipts go back through them; see AppendHints.Receipts. Without receipts
    // (no duplicate), message i of the batch went to firstOffset + i.
    private PublishReceipt[] Answer(PublishReceipt[]? receipts, long firstOffset, int count, AppendHints? hints)
    {
        if (hints is not null)
        {
            hints.Receipts = receipts;
            hints.FirstOffset = receipts is null ? firstOffset : -1;
            return [];
        }

        if (receipts is null)
        {
            receipts = new PublishReceipt[count];
            for (var i = 0; i < count; i++)
            {
                receipts[i] = new PublishReceipt(_partition, firstOffset + i, Duplicate: false);
            }
        }

        return receipts;
    }

    public async Task<ReadResult> ReadAsync(long fromOffset, int maxMessages, int maxBytes)
    {
        EnsureTopic();
        var log = _log!;
        if (maxMessages < 1 || maxBytes < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Read of '{_topic}/{_partition}': maxMessages ({maxMessages}) and maxBytes ({maxBytes}) must be ≥ 1.");
        }

        IReadOnlyList<LogRecord> records;
        try
        {
            records = await log.ReadAsync(Math.Max(0, fromOffset), maxMessages, maxBytes);
        }
        catch (LogFencedException ex)
        {
            throw FencedOff(ex);
        }

        return new ReadResult { Messages = ToStored(records), LowWatermark = log.LowWatermark, HighWatermark = log.HighWatermark };
    }

    public async Task<PartitionInfo> GetInfoAsync()
    {
        EnsureTopic();
        var log = _log!;
        try
        {
            // The high watermark reported here is what "read to the end" trusts: never a stale activation's.
            await log.VerifyOwnershipAsync();
        }
        catch (LogFencedException ex)
        {
            throw FencedOff(ex);
        }

        return new PartitionInfo
        {
            Partition = _partition,
            LowWatermark = log.LowWatermark,
            HighWatermark = log.HighWatermark,
            SizeBytes = log.SizeBytes,
            Backlog = log.HighWatermark - MinAckFloor(log),
        };
    }

    // Another activation (on another silo) owns this partition's log: this one must neither write nor report an end of the
    // log it cannot see. It deactivates; the caller retries and reaches the owner (or a fresh activation that reopens the log).
    private OrleansMQException FencedOff(LogFencedException ex)
    {
        _faulted = true;
        LogFencedOff(logger, ex, _topic, _partition);
        DeactivateOnIdle();
        // Not chained: the storage exception has no Orleans codec, and its message says it all.
        return new OrleansMQException(ErrorCode.Internal, $"Partition '{_topic}/{_partition}' moved: another activation owns its log now; retry. ({ex.Message})");
    }

    public async Task<long> FindOffsetAsync(DateTimeOffset timestamp)
    {
        EnsureTopic();
        return await _log!.FindOffsetAsync(timestamp);
    }

    public Task ReportAckFloorAsync(string subscription, long ackFloor)
    {
        if (_topicInfo?.Subscriptions.ContainsKey(subscription) == true)
        {
            _ackFloors[subscription] = ackFloor;
            UpdateBacklogGauge();
        }

        return Task.CompletedTask;
    }

    public Task TopicChangedAsync(TopicInfo topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var hadWindow = _dedup?.Window;
        _topicInfo = topic;
        if (hadWindow != topic.Spec.DeduplicationWindow)
        {
            ConfigureDeduplication();
        }

        foreach (var gone in _ackFloors.Keys.Where(s => !topic.Subscriptions.ContainsKey(s)).ToList())
        {
            _ackFloors.Remove(gone);
        }

        foreach (var gone in _subscriptionGrains.Keys.Where(s => !topic.Subscriptions.ContainsKey(s)).ToList())
        {
            _subscriptionGrains.Remove(gone);
        }

        return Task.CompletedTask;
    }

    public async Task DeleteAsync()
    {
        if (_log is { } log)
        {
            try
            {
                await _tail;
            }
            catch (OrleansMQException)
            {
            }
            catch (IOException)
            {
            }
            await log.DeleteAsync();
            _log = null;
        }

        _topicInfo = null;
        DeactivateOnIdle();
    }

    private TopicInfo EnsureTopic()
    {
        if (_faulted || _log is null)
        {
            throw new OrleansMQException(ErrorCode.Internal, $"Partition '{_topic}/{_partition}' is recovering; retry.");
        }

        var topic = _topicInfo ?? throw OrleansMQException.NotFound("Topic", _topic);
        if (_partition >= topic.Spec.Partitions)
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Topic '{_topic}' has {topic.Spec.Partitions} partitions; partition {_partition} does not exist.");
        }

        return topic;
    }

    private void CheckBacklog(TopicSpec spec, int newCount, IReadOnlyList<Message> messages)
    {
        if (_topicInfo is not { Subscriptions.Count: > 0 })
        {
            return;
        }

        var log = _log!;
        var floor = MinAckFloor(log);
        var backlog = _nextOffset - floor;
        if (backlog + newCount > spec.MaxBacklogMessages)
        {
            throw new OrleansMQException(ErrorCode.BacklogFull,
                $"Partition '{_topic}/{_partition}' backlog is {backlog} messages; the limit is {spec.MaxBacklogMessages}. Consumers must catch up first.");
        }

        var bytes = log.EstimateBytesFrom(floor);
        if (bytes + ((long)messages.Count * spec.MaxMessageBytes) <= spec.MaxBacklogBytes)
        {
            return; // far from the limit: no need to add up the sizes (each message is at most MaxMessageBytes)
        }

        long incoming = 0;
        foreach (var m in messages)
        {
            incoming += MessageLimits.SizeOf(m);
        }

        if (bytes + incoming > spec.MaxBacklogBytes)
        {
            throw new OrleansMQException(ErrorCode.BacklogFull,
                $"Partition '{_topic}/{_partition}' backlog is about {bytes} bytes; the limit is {spec.MaxBacklogBytes} bytes. Consumers must catch up first.");
        }
    }

    private void UpdateBacklogGauge()
    {
        if (_log is { } log && _backlogGauge is { } gauge)
        {
            gauge.Set(Math.Max(0, log.HighWatermark - MinAckFloor(log)));
        }
    }

    private long MinAckFloor(IMessageLog log)
    {
        if (_topicInfo is not { Subscriptions.Count: > 0 } topic)
        {
            return log.HighWatermark;
        }

        var min = long.MaxValue;
        foreach (var name in topic.Subscriptions.Keys)
        {
            // A subscription that has not reported yet counts from the low watermark: conservative, never over-deletes.
            min = Math.Min(min, _ackFloors.TryGetValue(name, out var floor) ? floor : log.LowWatermark);
        }

        return Math.Max(min, log.LowWatermark);
    }

    // Small batches travel with the notification, so a cursor at the tail delivers them without reading them back.
    private const int MaxNotifiedMessages = 256;
    private const int MaxNotifiedBytes = 256 * 1024;

    private void NotifySubscriptions(IReadOnlyList<LogRecord>? appended = null)
    {
        var hw = _log?.HighWatermark ?? 0;
        if (hw <= _lastNotified || _topicInfo is not { } topic)
        {
            return;
        }

        _lastNotified = hw;
        if (topic.Subscriptions.Count == 0)
        {
            return;
        }

        var messages = appended is { Count: > 0 and <= MaxNotifiedMessages } ? ToStoredIfSmall(appended) : null;
        foreach (var subscription in topic.Subscriptions.Keys)
        {
            if (!_subscriptionGrains.TryGetValue(subscription, out var cursor))
            {
                _subscriptionGrains[subscription] = cursor = GrainFactory.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(_topic, _partition, subscription));
            }

            _ = messages is null ? cursor.NotifyAsync(hw) : cursor.NotifyAppendedAsync(hw, messages);
        }
    }

    private StoredMessage[]? ToStoredIfSmall(IReadOnlyList<LogRecord> records)
    {
        long bytes = 0;
        foreach (var record in records)
        {
            bytes += record.Body.Length;
            if (bytes > MaxNotifiedBytes)
            {
                return null;
            }
        }

        return ToStored(records);
    }

    private StoredMessage[] ToStored(IReadOnlyList<LogRecord> records)
    {
        var messages = new StoredMessage[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            messages[i] = ToStored(records[i]);
        }

        return messages;
    }

    private async Task ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        if (_log is not { } log || _topicInfo is not { } topic)
        {
            return;
        }

        var retention = topic.Spec.Retention;
        var request = new RetentionRequest
        {
            DeleteOlderThan = retention.MaxAge is { } age ? time.GetUtcNow() - age : null,
            MaxBytes = retention.MaxBytes,
            DeleteBelowOffset = retention.UntilAcknowledged && topic.Subscriptions.Count > 0 ? MinAckFloor(log) : null,
        };
        var before = log.LowWatermark;
        long after;
        try
        {
            after = await log.ApplyRetentionAsync(request, cancellationToken);
        }
        catch (LogFencedException ex)
        {
            _ = FencedOff(ex);
            return;
        }

        if (after != before)
        {
            LogRetention(logger, _topic, _partition, before, after);
        }
    }

    private async Task RefreshAckFloorsAsync(CancellationToken cancellationToken)
    {
        if (_topicInfo is not { } topic)
        {
            return;
        }

        foreach (var subscription in topic.Subscriptions.Keys)
        {
            if (_faulted || cancellationToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                // WaitAsync: a subscription grain may be waiting on this partition (GetInfoAsync) while this activation
                // deactivates after a failed append; deactivation waits for this callback, which must not wait for the
                // subscription in turn (that deadlocked both until the 30 s call timeout, found by the storage-errors
                // fault scenario). The timer's token is cancelled when deactivation starts.
                var stats = await GrainFactory.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(_topic, _partition, subscription)).GetStatsAsync().WaitAsync(cancellationToken);
                _ackFloors.TryAdd(subscription, stats.AckFloor);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
            {
                // Deleted meanwhile.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return; // deactivating
            }
        }
    }

    private void ConfigureDeduplication() =>
        _dedup = _topicInfo?.Spec.DeduplicationWindow is { } window ? new DeduplicationWindow(window, TopicSpec.MaxDeduplicationIds) : null;

    /// <summary>Rebuilds the idempotent-producer windows and the de-duplication window from the tail of the log.</summary>
    private async Task RebuildWindowsAsync(CancellationToken cancellationToken)
    {
        var log = _log!;
        var from = Math.Max(log.LowWatermark, log.HighWatermark - _options.ProducerWindow);
        if (_dedup is not null)
        {
            var dedupFrom = await log.FindOffsetAsync(time.GetUtcNow() - _dedup.Window, cancellationToken);
            from = Math.Min(from, Math.Max(dedupFrom, log.HighWatermark - TopicSpec.MaxDeduplicationIds));
        }

        from = Math.Max(from, log.LowWatermark);
        while (from < log.HighWatermark)
        {
            var records = await log.ReadAsync(from, 4096, 8 << 20, cancellationToken);
            if (records.Count == 0)
            {
                break;
            }

            foreach (var r in records)
            {
                if (r.ProducerId is { } id)
                {
                    if (!_producers.TryGetValue(id, out var window))
                    {
                        window = new ProducerWindow(_options.ProducerWindow);
                        _producers[id] = window;
                    }

                    window.Record(r.Sequence, r.Offset);
                }

                if (r.MessageId is { } messageId)
                {
                    _dedup?.Add(messageId, r.Offset, r.Timestamp);
                }
            }

            from = records[^1].Offset + 1;
        }
    }

    private StoredMessage ToStored(LogRecord r) => new()
    {
        Topic = _topic,
        Partition = _partition,
        Offset = r.Offset,
        Timestamp = r.Timestamp,
        Key = r.Key,
        MessageId = r.MessageId,
        Headers = r.Headers ?? StoredMessageDefaults.EmptyHeaders,
        ContentType = r.ContentType,
        Body = r.Body,
    };

    [LoggerMessage(1001, LogLevel.Debug, "Partition {Topic}/{Partition} activated: offsets {Low}..{High}")]
    private static partial void LogActivated(ILogger logger, string topic, int partition, long low, long high);

    [LoggerMessage(1002, LogLevel.Error, "Append to {Topic}/{Partition} failed; deactivating to recover from the log")]
    private static partial void LogAppendFailed(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(1004, LogLevel.Warning, "Partition {Topic}/{Partition}: another activation owns the log now; this one deactivates and serves nothing more")]
    private static partial void LogFencedOff(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(1003, LogLevel.Information, "Retention on {Topic}/{Partition} moved the low watermark {Before} -> {After}")]
    private static partial void LogRetention(ILogger logger, string topic, int partition, long before, long after);
}

internal static class StoredMessageDefaults
{
    public static readonly IReadOnlyDictionary<string, string> EmptyHeaders = new Dictionary<string, string>();
}
