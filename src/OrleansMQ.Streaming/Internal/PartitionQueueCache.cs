using System.Diagnostics.CodeAnalysis;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Internal;

/// <summary>
/// The cache of one queue (one topic partition) in a pulling agent. It holds the recently read messages, in offset
/// order, covering the offsets [start, end). Unlike Orleans' own caches it never answers "cache miss": a cursor asked
/// for a position before the cache (a rewind, or a consumer resuming from an old token) becomes a replay cursor that
/// the receiver feeds from the partition log, and a cursor at a time is resolved through the partition's time index.
/// Everything runs in the agent's turns; the lock only guards against a receiver continuation on another thread.
/// </summary>
internal sealed partial class PartitionQueueCache(int readBatchSize, int maxCachedMessages, Microsoft.Extensions.Logging.ILogger logger) : IQueueCache
{
    private readonly Lock _lock = new();
    private readonly List<OrleansMQBatchContainer> _items = [];
    private readonly HashSet<PartitionCacheCursor> _cursors = [];
    private long _start = -1;
    private long _end = -1;

    /// <summary>The first covered offset (-1 before the receiver started).</summary>
    public long Start
    {
        get
        {
            lock (_lock)
            {
                return _start;
            }
        }
    }

    /// <summary>The receiver starts reading at the subscription's committed position.</summary>
    public void Begin(long position)
    {
        lock (_lock)
        {
            _items.Clear();
            _start = _end = position;
        }
    }

    public int GetMaxAddCount() => readBatchSize;

    public bool IsUnderPressure()
    {
        lock (_lock)
        {
            return _items.Count >= maxCachedMessages;
        }
    }

    public void AddToCache(IList<IBatchContainer> messages)
    {
        lock (_lock)
        {
            foreach (var message in messages)
            {
                if (message is not OrleansMQBatchContainer { IsWakeUp: false } item)
                {
                    continue;
                }

                if (_end < 0)
                {
                    _start = _end = item.Offset;
                }

                if (item.Offset < _end)
                {
                    continue;
                }

                _items.Add(item);
                _end = item.Offset + 1;
            }
        }
    }

    /// <summary>Removes the messages every cursor is past; the receiver acknowledges them (the last one, cumulatively).</summary>
    public bool TryPurgeFromCache([MaybeNullWhen(false)] out IList<IBatchContainer> purgedItems)
    {
        lock (_lock)
        {
            var floor = _end;
            foreach (var cursor in _cursors)
            {
                floor = Math.Min(floor, cursor.PinnedOffset);
            }

            var count = 0;
            while (count < _items.Count && _items[count].Offset < floor)
            {
                count++;
            }

            if (floor > _start && _end >= 0)
            {
                _start = floor;
            }

            if (count == 0)
            {
                purgedItems = null;
                return false;
            }

            purgedItems = _items.GetRange(0, count).ToList<IBatchContainer>();
            _items.RemoveRange(0, count);
            return true;
        }
    }

    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        lock (_lock)
        {
            var cursor = token switch
            {
                null => new PartitionCacheCursor(this, streamId, Math.Max(_end, 0), timeQuery: null),
                OrleansMQStreamSequenceToken { IsTimeQuery: true } t => new PartitionCacheCursor(this, streamId, -1, t.Timestamp),
                _ => new PartitionCacheCursor(this, streamId, ResumePosition(streamId, token.SequenceNumber), timeQuery: null),
            };
            _cursors.Add(cursor);
            LogCursor(logger, streamId, token?.ToString() ?? "(none)", _start, _end);
            return cursor;
        }
    }

    /// <summary>
    /// The agent moves a consumer to the token it reports (its last processed event) with a new cursor followed by one
    /// <c>MoveNext</c> to step over that event. Before the cache the data is read asynchronously, so that step finds
    /// nothing to step over; the replay would then hand the consumer the same event again, it would report the same token,
    /// and so on forever. A replay cursor replacing one of the same stream that was created at the same offset and
    /// returned only that event therefore starts after it.
    /// </summary>
    private long ResumePosition(StreamId streamId, long offset)
    {
        if (_start >= 0 && offset < _start && _cursors.Any(c => c.StreamId.Equals(streamId) && c.CreatedAt == offset && c.ReturnedOnlyItsStart))
        {
            return offset + 1;
        }

        return offset;
    }

    /// <summary>Cursors waiting for the receiver: a time to resolve, or log data before the cache.</summary>
    public List<PartitionCacheCursor> PendingCursors()
    {
        lock (_lock)
        {
            return _cursors.Where(c => c.NeedsReceiver(_start)).ToList();
        }
    }

    internal void Remove(PartitionCacheCursor cursor)
    {
        lock (_lock)
        {
            _cursors.Remove(cursor);
        }
    }

    /// <summary>For a cursor at <paramref name="position"/>: the next cached message of the stream, or null (the position is then the end).</summary>
    internal OrleansMQBatchContainer? Next(StreamId streamId, ref long position, out bool beforeCache)
    {
        lock (_lock)
        {
            beforeCache = _start >= 0 && position < _start;
            if (beforeCache || _end < 0)
            {
                return null;
            }

            var lo = 0;
            var hi = _items.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_items[mid].Offset < position)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            for (var i = lo; i < _items.Count; i++)
            {
                if (_items[i].StreamId.Equals(streamId))
                {
                    position = _items[i].Offset + 1;
                    return _items[i];
                }
            }

            position = Math.Max(position, _end);
            return null;
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 4110, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "Cursor for {Stream} at {Token}; cache covers [{Start}, {End})")]
    private static partial void LogCursor(Microsoft.Extensions.Logging.ILogger logger, StreamId stream, string token, long start, long end);
}
