using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Internal;

/// <summary>
/// A consumer's position in one stream of a queue. Live: it scans the cache from its position for the stream's next
/// message. Replay (its position is before the cache): it delivers what the receiver read for it from the partition log,
/// one chunk at a time, then continues in the cache. Time query: it waits for the receiver to resolve the time to an offset.
/// </summary>
internal sealed class PartitionCacheCursor(PartitionQueueCache cache, StreamId streamId, long position, DateTimeOffset? timeQuery) : IQueueCacheCursor
{
    private readonly Lock _lock = new();
    private readonly Queue<OrleansMQBatchContainer> _replay = new();
    private long _position = position;
    private DateTimeOffset? _timeQuery = timeQuery;
    private OrleansMQBatchContainer? _current;
    private bool _currentIsLive;
    private bool _moved;
    private int _returned;

    public StreamId StreamId { get; } = streamId;

    /// <summary>The offset the cursor was created at.</summary>
    public long CreatedAt { get; } = position;

    /// <summary>True when the only message this cursor returned is the one at <see cref="CreatedAt"/>.</summary>
    public bool ReturnedOnlyItsStart
    {
        get
        {
            lock (_lock)
            {
                return _returned == 1 && _current?.Offset == CreatedAt;
            }
        }
    }

    /// <summary>The next offset this cursor looks at.</summary>
    public long Position
    {
        get
        {
            lock (_lock)
            {
                return _position;
            }
        }
    }

    /// <summary>The time to resolve, if this cursor was created from <see cref="OrleansMQStreamSequenceToken.AtTime"/>.</summary>
    public DateTimeOffset? TimeQuery
    {
        get
        {
            lock (_lock)
            {
                return _timeQuery;
            }
        }
    }

    /// <summary>
    /// The lowest cached offset this cursor may still deliver: the message being delivered, or (before the first move)
    /// its start. A cursor that caught up, or that replays history from the log, holds nothing back.
    /// </summary>
    public long PinnedOffset
    {
        get
        {
            lock (_lock)
            {
                if (_timeQuery is not null)
                {
                    return long.MaxValue;
                }

                if (_current is not null)
                {
                    return _currentIsLive ? _current.Offset : long.MaxValue;
                }

                return _moved ? long.MaxValue : _position;
            }
        }
    }

    /// <summary>True when the receiver must act: resolve a time, or read the log before the cache.</summary>
    public bool NeedsReceiver(long cacheStart)
    {
        lock (_lock)
        {
            return _timeQuery is not null || (_replay.Count == 0 && cacheStart >= 0 && _position < cacheStart);
        }
    }

    /// <summary>The receiver resolved the time query to an offset.</summary>
    public void Resolve(long offset)
    {
        lock (_lock)
        {
            _timeQuery = null;
            _position = offset;
        }
    }

    /// <summary>The receiver read the log up to (not including) <paramref name="nextPosition"/>; <paramref name="items"/> are this stream's messages.</summary>
    public void Feed(IEnumerable<OrleansMQBatchContainer> items, long nextPosition)
    {
        lock (_lock)
        {
            foreach (var item in items)
            {
                _replay.Enqueue(item);
            }

            _position = Math.Max(_position, nextPosition);
        }
    }

    public bool MoveNext()
    {
        lock (_lock)
        {
            _moved = true;
            _current = null;
            if (_timeQuery is not null)
            {
                return false;
            }

            if (_replay.TryDequeue(out var replayed))
            {
                _current = replayed;
                _currentIsLive = false;
                _returned++;
                return true;
            }

            var next = cache.Next(StreamId, ref _position, out _);
            if (next is null)
            {
                return false;
            }

            _current = next;
            _currentIsLive = true;
            _returned++;
            return true;
        }
    }

    public IBatchContainer? GetCurrent(out Exception? exception)
    {
        exception = null;
        lock (_lock)
        {
            return _current;
        }
    }

    /// <summary>Orleans hints the stream has new messages from <paramref name="token"/>; the cursor finds them by itself.</summary>
    public void Refresh(StreamSequenceToken token)
    {
    }

    public void RecordDeliveryFailure()
    {
    }

    public void Dispose() => cache.Remove(this);
}
