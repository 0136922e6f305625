using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansMQ.Grains;

namespace OrleansMQ.Streaming.Internal;

/// <summary>
/// Reads one topic partition for a pulling agent through the provider's Exclusive subscription: at start it goes back
/// to the subscription's committed position (what was read but not delivered before a silo was lost is read again),
/// and it acknowledges cumulatively once the cache says everything up to a message was delivered. It also serves the
/// cache's rewinds: times resolved through the partition's time index, history read from the partition log.
/// Each receiver claims the Exclusive subscription under its own consumer id when it starts, which fences any earlier
/// receiver of the partition (an agent on a silo that lost the queue during rebalancing): that one's receives and acks
/// then fail with <see cref="ErrorCode.ConsumerFenced"/> and never move the cursor.
/// </summary>
internal sealed partial class PartitionReceiver(
    IGrainFactory grains,
    OrleansMQStreamOptions options,
    string providerName,
    string topic,
    int partition,
    Func<Task> ensureTopic,
    PartitionQueueCache cache,
    StreamMessageCodec codec,
    ILogger logger) : IQueueAdapterReceiver
{
    private const int ReplayReadsPerPoll = 16;
    private readonly ISubscriptionGrain _subscription = grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, partition, options.Subscription));
    private readonly IPartitionGrain _partition = grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, partition));
    private readonly string _consumerId = $"orleans-streams/{providerName}/{partition}/{Guid.NewGuid():N}";
    private bool _initialized;
    private bool _fenced;
    private long _committed = -1;

    public Task Initialize(TimeSpan timeout) => InitializeAsync();

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync();
        }

        var result = new List<IBatchContainer>();
        if (_fenced && !await TryRejoinAsync())
        {
            return result;
        }

        await ServeRewindsAsync(result);
        var max = maxCount <= 0 ? options.ReadBatchSize : Math.Min(maxCount, options.ReadBatchSize);
        ReceiveResult received;
        try
        {
            received = await _subscription.ReceiveAsync(_consumerId, max, TimeSpan.Zero);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.ConsumerFenced)
        {
            Fenced(ex);
            return result;
        }

        foreach (var delivery in received.Messages)
        {
            if (codec.Decode(delivery.Message, delivery.Tag) is { } container)
            {
                result.Add(container);
            }
        }

        return result;
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        OrleansMQBatchContainer? last = null;
        foreach (var message in messages)
        {
            if (message is OrleansMQBatchContainer { IsWakeUp: false } c && (last is null || c.Offset > last.Offset))
            {
                last = c;
            }
        }

        if (last is null || last.Offset <= _committed)
        {
            return;
        }

        try
        {
            await _subscription.AckAsync(_consumerId, [last.Tag]);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.ConsumerFenced)
        {
            // A newer receiver owns the partition and re-reads from the committed position: nothing is lost.
            Fenced(ex);
            return;
        }

        _committed = last.Offset;
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        if (_initialized && !_fenced)
        {
            await _subscription.CloseConsumerAsync(_consumerId);
        }
    }

    private async Task InitializeAsync()
    {
        await ensureTopic();
        var epoch = await _subscription.ClaimExclusiveAsync(_consumerId);
        _fenced = false;
        var stats = await _subscription.GetStatsAsync();
        // Back to the committed position: whatever an earlier reader took but did not get delivered is read again.
        await _subscription.SeekAsync(StartPosition.AtOffset(stats.AckFloor));
        cache.Begin(stats.AckFloor);
        _committed = stats.AckFloor - 1;
        _initialized = true;
        LogStarted(logger, providerName, topic, partition, stats.AckFloor, epoch);
    }

    /// <summary>
    /// A fenced receiver reads again only once the newer owner is gone (closed or timed out), e.g. when the queue
    /// balancer settles back on this silo: it claims without taking over and goes back to the committed position. What
    /// its cache already holds is not added twice; re-reading re-leases it, so its acks count again.
    /// </summary>
    private async Task<bool> TryRejoinAsync()
    {
        var epoch = await _subscription.ClaimExclusiveAsync(_consumerId, takeOver: false);
        if (epoch == 0)
        {
            return false;
        }

        var stats = await _subscription.GetStatsAsync();
        await _subscription.SeekAsync(StartPosition.AtOffset(stats.AckFloor));
        _committed = stats.AckFloor - 1;
        _fenced = false;
        LogRejoined(logger, providerName, topic, partition, stats.AckFloor, epoch);
        return true;
    }

    private void Fenced(OrleansMQException ex)
    {
        if (!_fenced)
        {
            _fenced = true;
            LogFenced(logger, providerName, topic, partition, ex.Message);
        }
    }

    /// <summary>Resolves time queries and reads history for replay cursors; returns a wake-up marker per stream served.</summary>
    private async Task ServeRewindsAsync(List<IBatchContainer> result)
    {
        var pending = cache.PendingCursors();
        if (pending.Count == 0)
        {
            return;
        }

        var woken = new HashSet<StreamId>();
        var reads = 0;
        foreach (var cursor in pending)
        {
            if (cursor.TimeQuery is { } time)
            {
                var offset = await _partition.FindOffsetAsync(time);
                cursor.Resolve(offset);
                LogTimeResolved(logger, topic, partition, time, offset);
            }

            var start = cache.Start;
            var from = cursor.Position;
            if (from < start)
            {
                var to = Math.Min(start, from + options.ReplayBatchSize);
                var items = new List<OrleansMQBatchContainer>();
                while (from < to && reads++ < ReplayReadsPerPoll)
                {
                    var read = await _partition.ReadAsync(from, (int)(to - from), 4 << 20);
                    var next = Math.Max(from, read.LowWatermark);
                    foreach (var m in read.Messages)
                    {
                        if (m.Offset >= to)
                        {
                            break;
                        }

                        next = m.Offset + 1;
                        if (codec.Decode(m, default) is { } c && c.StreamId.Equals(cursor.StreamId))
                        {
                            items.Add(c);
                        }
                    }

                    // Nothing more before the cache start (offsets trimmed or never written): the replay is done.
                    from = read.Messages.Count == 0 ? to : next;
                }

                cursor.Feed(items, from);
                LogReplayed(logger, topic, partition, cursor.StreamId, items.Count, from);
            }

            if (woken.Add(cursor.StreamId))
            {
                result.Add(new OrleansMQBatchContainer(cursor.StreamId, null, OrleansMQStreamSequenceToken.ForMessage(cursor.Position, default), default) { IsWakeUp = true });
            }
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Stream provider '{Provider}' reads {Topic}/{Partition} from committed offset {Offset} (owner epoch {Epoch})")]
    private static partial void LogStarted(ILogger logger, string provider, string topic, int partition, long offset, long epoch);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Stream provider '{Provider}': the receiver of {Topic}/{Partition} owns it again and reads from committed offset {Offset} (owner epoch {Epoch})")]
    private static partial void LogRejoined(ILogger logger, string provider, string topic, int partition, long offset, long epoch);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Stream provider '{Provider}': the receiver of {Topic}/{Partition} was fenced by a newer one; it stops reading until that one is gone: {Reason}")]
    private static partial void LogFenced(ILogger logger, string provider, string topic, int partition, string reason);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Stream rewind on {Topic}/{Partition}: time {Time:O} is offset {Offset}")]
    private static partial void LogTimeResolved(ILogger logger, string topic, int partition, DateTimeOffset time, long offset);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug, Message = "Stream rewind on {Topic}/{Partition}: read {Count} events of {Stream} from the log, up to offset {Offset}")]
    private static partial void LogReplayed(ILogger logger, string topic, int partition, StreamId stream, int count, long offset);
}
