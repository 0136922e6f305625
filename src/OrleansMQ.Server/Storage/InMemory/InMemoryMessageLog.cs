namespace OrleansMQ.Server.Storage;

/// <summary>
/// An <see cref="IMessageLog"/> in memory, with the file log's semantics (segments, retention, size accounting) and none of
/// its durability. Appends are durable as soon as they return. Open it through <see cref="InMemoryMessageLogFactory"/>.
/// </summary>
public sealed class InMemoryMessageLog : IMessageLog
{
    private readonly InMemoryMessageLogFactory _factory;
    private readonly (string Topic, int Partition) _key;
    private readonly InMemoryPartitionData _data;
    private readonly int _epoch;
    private bool _closed;

    internal InMemoryMessageLog(InMemoryMessageLogFactory factory, (string Topic, int Partition) key, InMemoryPartitionData data, int epoch)
    {
        _factory = factory;
        _key = key;
        _data = data;
        _epoch = epoch;
    }

    /// <inheritdoc />
    public long LowWatermark
    {
        get
        {
            lock (_data.Sync)
            {
                return _data.Segments[0].BaseOffset;
            }
        }
    }

    /// <inheritdoc />
    public long HighWatermark
    {
        get
        {
            lock (_data.Sync)
            {
                return _data.NextOffset;
            }
        }
    }

    /// <inheritdoc />
    public long SizeBytes
    {
        get
        {
            lock (_data.Sync)
            {
                return _data.TotalBytes;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        var sizes = new int[records.Count];
        for (var i = 0; i < sizes.Length; i++)
        {
            sizes[i] = LogRecordCodec.GetFrameSize(records[i] ?? throw new ArgumentException($"Record {i} is null.", nameof(records)));
        }

        lock (_data.Sync)
        {
            ThrowIfUnusable();
            var first = _data.NextOffset;
            for (var i = 0; i < sizes.Length; i++)
            {
                var active = _data.Segments[^1];
                if (active.Bytes > 0 && active.Bytes + sizes[i] > _factory.SegmentBytes)
                {
                    active = new InMemorySegment(_data.NextOffset);
                    _data.Segments.Add(active);
                }

                var record = records[i];
                record.Offset = _data.NextOffset++;
                active.Records.Add(Copy(record, record.Body.ToArray(), copyHeaders: true));
                active.FrameSizes.Add(sizes[i]);
                active.Bytes += sizes[i];
                active.MaxTimestampTicks = Math.Max(active.MaxTimestampTicks, record.Timestamp.UtcTicks);
                _data.TotalBytes += sizes[i];
            }

            return ValueTask.FromResult(first);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_data.Sync)
        {
            ThrowIfUnusable();
            var segments = _data.Segments;
            var offset = Math.Max(fromOffset, segments[0].BaseOffset);
            if (offset >= _data.NextOffset)
            {
                return ValueTask.FromResult<IReadOnlyList<LogRecord>>([]);
            }

            var result = new List<LogRecord>((int)Math.Min(maxRecords, Math.Min(_data.NextOffset - offset, 1024)));
            long bytes = 0;
            for (var s = FindSegment(offset); s < segments.Count; s++)
            {
                var segment = segments[s];
                for (var i = (int)(offset - segment.BaseOffset); i < segment.Records.Count; i++, offset++)
                {
                    var size = segment.FrameSizes[i];
                    if (result.Count == maxRecords || (result.Count > 0 && bytes + size > maxBytes))
                    {
                        return ValueTask.FromResult<IReadOnlyList<LogRecord>>(result);
                    }

                    var record = segment.Records[i];
                    result.Add(Copy(record, record.Body, copyHeaders: false));
                    bytes += size;
                }
            }

            return ValueTask.FromResult<IReadOnlyList<LogRecord>>(result);
        }
    }

    /// <inheritdoc />
    /// <remarks>Completes at once: the log lives in one process.</remarks>
    public ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ticks = timestamp.UtcTicks;
        lock (_data.Sync)
        {
            ThrowIfUnusable();
            foreach (var segment in _data.Segments)
            {
                if (segment.MaxTimestampTicks < ticks)
                {
                    continue;
                }

                foreach (var record in segment.Records)
                {
                    if (record.Timestamp.UtcTicks >= ticks)
                    {
                        return ValueTask.FromResult(record.Offset);
                    }
                }
            }

            return ValueTask.FromResult(_data.NextOffset);
        }
    }

    /// <inheritdoc />
    public long EstimateBytesFrom(long offset)
    {
        lock (_data.Sync)
        {
            ThrowIfUnusable();
            var segments = _data.Segments;
            offset = Math.Max(offset, segments[0].BaseOffset);
            if (offset >= _data.NextOffset)
            {
                return 0;
            }

            var s = FindSegment(offset);
            long bytes = 0;
            var sizes = segments[s].FrameSizes;
            for (var i = (int)(offset - segments[s].BaseOffset); i < sizes.Count; i++)
            {
                bytes += sizes[i];
            }

            for (s++; s < segments.Count; s++)
            {
                bytes += segments[s].Bytes;
            }

            return bytes;
        }
    }

    /// <inheritdoc />
    public ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_data.Sync)
        {
            ThrowIfUnusable();
            var segments = _data.Segments;
            var delete = 0;
            var bytes = _data.TotalBytes;
            while (delete < segments.Count - 1)
            {
                var segment = segments[delete];
                if (!RetentionRule.ShouldDelete(request, segment.EndOffset, segment.MaxTimestampTicks, segment.Records.Count > 0, bytes))
                {
                    break;
                }

                bytes -= segment.Bytes;
                delete++;
            }

            segments.RemoveRange(0, delete);
            _data.TotalBytes = bytes;
            return ValueTask.FromResult(segments[0].BaseOffset);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(CancellationToken cancellationToken = default)
    {
        lock (_data.Sync)
        {
            ThrowIfUnusable();
            _closed = true;
            _data.Deleted = true;
            _data.Epoch++;
            _data.Segments.Clear();
            _data.Segments.Add(new InMemorySegment(0));
            _data.NextOffset = 0;
            _data.TotalBytes = 0;
        }

        _factory.Remove(_key, _data);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        lock (_data.Sync)
        {
            _closed = true;
        }

        return ValueTask.CompletedTask;
    }

    private int FindSegment(long offset)
    {
        var segments = _data.Segments;
        int lo = 0, hi = segments.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (segments[mid].BaseOffset <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    private void ThrowIfUnusable()
    {
        if (_closed)
        {
            throw new ObjectDisposedException(nameof(InMemoryMessageLog), $"The log of {_key.Topic}/{_key.Partition} was disposed.");
        }

        if (_data.Epoch != _epoch)
        {
            throw new ObjectDisposedException(nameof(InMemoryMessageLog),
                $"The log of {_key.Topic}/{_key.Partition} was opened again; this instance was superseded and can no longer be used.");
        }
    }

    // Stored records are private copies (the caller may reuse its buffers); reads hand out new LogRecord objects because
    // Offset is settable, but share the stored body and headers, which nobody mutates.
    private static LogRecord Copy(LogRecord record, ReadOnlyMemory<byte> body, bool copyHeaders) => new()
    {
        Offset = record.Offset,
        Timestamp = record.Timestamp,
        Key = record.Key,
        MessageId = record.MessageId,
        ContentType = record.ContentType,
        Headers = record.Headers is not { Count: > 0 } headers ? null
            : copyHeaders ? new Dictionary<string, string>(headers, StringComparer.Ordinal) : headers,
        Body = body,
        ProducerId = record.ProducerId,
        Sequence = record.Sequence,
    };
}
