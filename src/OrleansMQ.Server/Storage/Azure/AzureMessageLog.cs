using System.Buffers;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The Azure Blob Storage log of one partition: append blobs <c>{topic}/{partition}/{baseOffset:D20}</c> in the container
/// <c>{NamePrefix}-log</c>, holding CRC-framed records (<see cref="LogRecordCodec"/>) and a few control frames
/// (<see cref="AzureSegmentFormat"/>). Shared by all silos, so a partition can move between them. Open it through
/// <see cref="AzureMessageLogFactory"/>.
/// </summary>
/// <remarks>
/// <para>
/// Write path: <see cref="AppendAsync"/> encodes the records and assigns offsets synchronously under a short lock, then
/// queues them for the log's writer, a loop on the thread pool (never the caller's scheduler) that packs everything queued
/// into one Append Block request of up to <see cref="AzureLogOptions.MaxAppendBytes"/> (group commit: appends that arrive
/// while a request is in flight share the next one), sends it, and only once the service acknowledged it advances the high
/// watermark and completes the appends, in offset order. A segment is sealed (a summary frame appended) and a new blob
/// started when its records reach <see cref="AzureLogOptions.SegmentBytes"/> or its blocks near
/// <see cref="AzureLogOptions.MaxBlocksPerSegment"/>.
/// </para>
/// <para>
/// Fencing: every append is conditional on the blob's append position (<c>If-Append-Position-Equal</c>), and opening a
/// partition always ends with a conditional write of its own (a fence frame on the active segment, or creating a new
/// one), which moves that position. So the newest opener owns the partition: an older instance's next write fails and it
/// throws <see cref="LogFencedException"/> from then on, having written nothing after the takeover. A new segment is only
/// created after its predecessor was sealed by a conditional append, so a stale instance cannot roll either.
/// </para>
/// <para>
/// Failures: a failed write (after the SDK's retries) fails that request's appends and every later one; dispose the log
/// and open the partition again. Reads only return records the service acknowledged, and verify every record's CRC.
/// </para>
/// </remarks>
public sealed partial class AzureMessageLog : IMessageLog
{
    private const int MinReadWindow = 64 * 1024;
    private const int MaxReadWindow = 4 * 1024 * 1024;

    private readonly AzureMessageLogFactory _factory;
    private readonly BlobContainerClient _container;
    private readonly AzureLogOptions _options;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly Lock _sync = new();
    private readonly Queue<AzurePendingAppend> _queue = new();
    private readonly SemaphoreSlim _retentionGate = new(1, 1);

    // The tail cache: the most recent durable blocks (their record frames back to back), oldest first, contiguous in
    // offsets and ending at the high watermark. Under _sync; the arrays are never changed once added.
    private readonly Queue<TailBlock> _tailCache = new();
    private long _tailCacheBytes;

    // Oldest first, never empty; the last one is active. Replaced (never mutated) under _sync, so a snapshot stays valid.
    private AzureSegment[] _segments;
    private long _nextOffset;
    private long _highWatermark;
    private long _totalBytes;
    private long _pendingBytes;
    private Task _lastAppend = Task.CompletedTask;
    private bool _writerRunning;
    private Exception? _failure;
    private bool _closed;
    private Task? _closeTask;

    private AzureMessageLog(AzureMessageLogFactory factory, BlobContainerClient container, AzureLogOptions options, ILogger logger,
        string topic, int partition, Guid instanceId, AzureSegment[] segments)
    {
        _factory = factory;
        _container = container;
        _options = options;
        _logger = logger;
        Topic = topic;
        Partition = partition;
        InstanceId = instanceId;
        _prefix = AzureSegment.Prefix(topic, partition);
        _segments = segments;
        _nextOffset = _highWatermark = segments[^1].EndOffset;
        foreach (var segment in segments)
        {
            _totalBytes += segment.RecordBytes;
        }
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The partition index.</summary>
    public int Partition { get; }

    /// <summary>Identifies this instance in the fence frames it writes.</summary>
    public Guid InstanceId { get; }

    /// <inheritdoc />
    public long LowWatermark => Volatile.Read(ref _segments)[0].BaseOffset;

    /// <inheritdoc />
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    /// <inheritdoc />
    /// <remarks>Record frame bytes (the measure every backend shares), including appends still being written; control frames are not counted.</remarks>
    public long SizeBytes
    {
        get
        {
            lock (_sync)
            {
                return _totalBytes;
            }
        }
    }

    /// <summary>A snapshot of the segments (tests).</summary>
    internal IReadOnlyList<AzureSegment> Segments => Volatile.Read(ref _segments);

    /// <inheritdoc />
    /// <remarks>
    /// The cancellation token is only observed before offsets are assigned. Throws <see cref="ArgumentException"/> for a
    /// record that encodes to more than <see cref="AzureLogOptions.MaxAppendBytes"/> (one Append Block request must hold a
    /// whole record), <see cref="ObjectDisposedException"/> after disposal, <see cref="LogFencedException"/> once another
    /// instance took the partition over, and <see cref="IOException"/> once a write failed.
    /// </remarks>
    public ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        var count = records.Count;
        if (count == 0)
        {
            return AppendNothingAsync();
        }

        var sizes = new int[count];
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"Record {i} is null.", nameof(records));
            sizes[i] = LogRecordCodec.GetFrameSize(record);
            if (sizes[i] > _options.MaxAppendBytes)
            {
                throw new ArgumentException(
                    $"Record {i} encodes to {sizes[i]} bytes; the Azure log stores at most {_options.MaxAppendBytes} bytes per record "
                    + $"(one Append Block request, {nameof(AzureLogOptions)}.{nameof(AzureLogOptions.MaxAppendBytes)}; the service limit is {AzureBlobLimits.MaxAppendBlockBytes}).",
                    nameof(records));
            }

            total += sizes[i];
        }

        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"An append of {total} bytes is too large; split it.", nameof(records));
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)total);
        try
        {
            // Encode (and checksum) outside the lock with the offsets the records will most likely get (one grain appends,
            // so only a concurrent caller can invalidate the guess, and then the batch is encoded again).
            var guessedFirst = Volatile.Read(ref _nextOffset);
            Encode(records, sizes, buffer, guessedFirst);

            AzurePendingAppend request;
            var startWriter = false;
            lock (_sync)
            {
                ThrowIfCannotAppend();
                if (_nextOffset != guessedFirst)
                {
                    Encode(records, sizes, buffer, _nextOffset);
                }

                request = new AzurePendingAppend(_nextOffset, buffer, sizes, (int)total);
                for (var i = 0; i < count; i++)
                {
                    records[i].Offset = _nextOffset + i;
                }

                _nextOffset += count;
                _totalBytes += total;
                _pendingBytes += total;
                _queue.Enqueue(request);
                _lastAppend = request.Task;
                if (!_writerRunning)
                {
                    _writerRunning = startWriter = true;
                }
            }

            buffer = null;
            if (startWriter)
            {
                // On the thread pool, whatever scheduler the caller runs on (an Orleans grain's, typically).
                _ = Task.Run(RunWriterAsync, CancellationToken.None);
            }

            return new ValueTask<long>(request.Task);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Downloads from the sparse index entry at or before <paramref name="fromOffset"/>; verifies each record's CRC and
    /// throws <see cref="LogCorruptionException"/> when a record in range is invalid (after returning the good ones before it).
    /// A read that reaches the high watermark first makes sure this instance still owns the partition
    /// (<see cref="VerifyOwnershipAsync"/>), so it never reports a stale end.
    /// </remarks>
    public async ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        cancellationToken.ThrowIfCancellationRequested();
        var cursor = new ReadCursor(fromOffset, maxRecords, maxBytes);
        while (true)
        {
            AzureSegment segment;
            AzureIndexEntry start;
            long dataEnd, highWatermark, nextBase;
            lock (_sync)
            {
                ThrowIfClosed();
                highWatermark = _highWatermark;
                var segments = _segments;
                if (cursor.Offset < segments[0].BaseOffset)
                {
                    if (cursor.HasRecords)
                    {
                        break; // retention overtook this read: a batch never skips offsets
                    }

                    cursor.Offset = segments[0].BaseOffset;
                }

                if (cursor.Offset >= highWatermark)
                {
                    break;
                }

                if (TryReadFromTailCache(cursor, highWatermark))
                {
                    break;
                }

                var s = FindSegment(segments, cursor.Offset);
                segment = segments[s];
                nextBase = s + 1 < segments.Length ? segments[s + 1].BaseOffset : long.MaxValue;
                if (segment.CorruptFromOffset is { } corruptFrom && cursor.Offset >= corruptFrom)
                {
                    if (cursor.HasRecords)
                    {
                        break;
                    }

                    throw Corruption(segment, cursor.Offset, segment.CorruptionReason!);
                }

                start = segment.Index.Count > 0 ? segment.Index.Floor(cursor.Offset) : new AzureIndexEntry(segment.BaseOffset, 0, 0, long.MinValue);
                dataEnd = segment.DataEnd;
            }

            bool done;
            try
            {
                done = await ReadSegmentAsync(segment, start, dataEnd, highWatermark, nextBase, cursor, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                if (cursor.HasRecords || !IsGone(segment))
                {
                    return cursor.HasRecords ? cursor.Records! : throw new IOException($"Azure log {Topic}/{Partition}: segment blob '{segment.BlobName}' is missing.", ex);
                }

                continue; // retention deleted it after the snapshot: start again at the new low watermark
            }

            if (done)
            {
                break;
            }
        }

        if (cursor.Offset >= Volatile.Read(ref _highWatermark))
        {
            // "This is the end of the log" must not come from a stale view (another instance may own the partition).
            await VerifyOwnershipAsync(cancellationToken).ConfigureAwait(false);
        }

        return cursor.Records ?? (IReadOnlyList<LogRecord>)[];
    }

    /// <inheritdoc />
    /// <remarks>Downloads only index chunks whose latest time stamp is late enough (time stamps need not be monotonic).</remarks>
    public async ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ticks = timestamp.UtcTicks;
        AzureSegment[] segments;
        long highWatermark;
        lock (_sync)
        {
            ThrowIfClosed();
            segments = _segments;
            highWatermark = _highWatermark;
        }

        foreach (var segment in segments)
        {
            for (var chunk = 0; ; chunk++)
            {
                AzureIndexEntry entry;
                long chunkEnd;
                lock (_sync)
                {
                    if (segment.MaxTimestampTicks < ticks || (chunk = segment.Index.FindChunk(chunk, ticks)) < 0)
                    {
                        break;
                    }

                    entry = segment.Index[chunk];
                    chunkEnd = chunk + 1 < segment.Index.Count ? segment.Index[chunk + 1].BlobPosition : segment.DataEnd;
                }

                if (entry.Offset >= highWatermark)
                {
                    return highWatermark;
                }

                long found;
                try
                {
                    found = await ScanChunkForTimeAsync(segment, entry, chunkEnd, highWatermark, ticks, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    break; // deleted by retention: its records are gone, look in the next segments
                }

                if (found >= 0)
                {
                    return found;
                }
            }
        }

        return highWatermark;
    }

    /// <inheritdoc />
    /// <remarks>Exact to within <see cref="AzureLogOptions.IndexIntervalBytes"/>; includes appends still being written.</remarks>
    public long EstimateBytesFrom(long offset)
    {
        lock (_sync)
        {
            ThrowIfClosed();
            var segments = _segments;
            offset = Math.Max(offset, segments[0].BaseOffset);
            if (offset >= _nextOffset)
            {
                return 0;
            }

            if (offset >= _highWatermark)
            {
                return PendingBytesFrom(offset);
            }

            var s = FindSegment(segments, offset);
            var segment = segments[s];
            var bytes = segment.RecordBytes - (segment.Index.Count > 0 ? segment.Index.Floor(offset).LogicalPosition : 0);
            for (s++; s < segments.Length; s++)
            {
                bytes += segments[s].RecordBytes;
            }

            return bytes + _pendingBytes;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Deletes sealed segment blobs oldest first. A blob that cannot be deleted stays in the log (with the ones after it)
    /// and the next call tries again. Sealed blobs never change, so a read racing the deletion either gets the whole
    /// records or finds the blob gone and starts again at the new low watermark.
    /// </remarks>
    public async ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        await _retentionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            AzureSegment[] removed;
            lock (_sync)
            {
                ThrowIfClosed();
                var segments = _segments;
                var bytes = _totalBytes;
                var delete = 0;
                while (delete < segments.Length - 1 && segments[delete].Sealed)
                {
                    var segment = segments[delete];
                    if (!RetentionRule.ShouldDelete(request, segments[delete + 1].BaseOffset, segment.MaxTimestampTicks, segment.HasRecords, bytes))
                    {
                        break;
                    }

                    bytes -= segment.RecordBytes;
                    delete++;
                }

                removed = segments[..delete];
                if (delete > 0)
                {
                    _segments = segments[delete..];
                    _totalBytes = bytes;
                }
            }

            if (removed.Length > 0 && !await IsStillOwnerAsync(cancellationToken).ConfigureAwait(false))
            {
                var fenced = new LogFencedException($"Azure log {Topic}/{Partition}: another instance took the partition over; this instance deletes nothing (retention skipped).");
                lock (_sync)
                {
                    _segments = [.. removed, .. _segments];
                    foreach (var segment in removed)
                    {
                        _totalBytes += segment.RecordBytes;
                    }

                    _failure ??= fenced;
                }

                throw fenced;
            }

            var deleted = 0;
            for (; deleted < removed.Length; deleted++)
            {
                try
                {
                    await _container.GetBlobClient(removed[deleted].BlobName)
                        .DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                }
                catch (RequestFailedException ex)
                {
                    AzureLogEvents.SegmentDeleteFailed(_logger, ex, removed[deleted].BlobName);
                    var kept = removed[deleted..];
                    lock (_sync)
                    {
                        _segments = [.. kept, .. _segments];
                        foreach (var segment in kept)
                        {
                            _totalBytes += segment.RecordBytes;
                        }
                    }

                    break;
                }
            }

            var lowWatermark = LowWatermark;
            if (deleted > 0)
            {
                AzureLogEvents.RetentionDeleted(_logger, Topic, Partition, deleted, lowWatermark);
            }

            return lowWatermark;
        }
        finally
        {
            _retentionGate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>Waits for appends in flight, then deletes every segment blob of the partition.</remarks>
    public async ValueTask DeleteAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            ThrowIfClosed();
        }

        await CloseAsync().ConfigureAwait(false);
        await DeletePartitionBlobsAsync(_container, _prefix, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Waits for appends in flight (they complete normally, or fail if the instance was fenced). Idempotent.</remarks>
    public ValueTask DisposeAsync() => new(CloseAsync());

    internal static async Task DeletePartitionBlobsAsync(BlobContainerClient container, string prefix, CancellationToken cancellationToken)
    {
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            await container.GetBlobClient(blob.Name).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads served from the tail cache (tests).</summary>
    internal long TailCacheHits => Volatile.Read(ref _tailCacheHits);

    private long _tailCacheHits;

    // Under _sync: caches a durable block starting at `firstOffset` and evicts the oldest blocks beyond TailCacheBytes
    // (always keeping the newest one).
    private void AddToTailCache(long firstOffset, byte[] frames)
    {
        _tailCache.Enqueue(new TailBlock(firstOffset, frames));
        _tailCacheBytes += frames.Length;
        while (_tailCacheBytes > _options.TailCacheBytes && _tailCache.Count > 1)
        {
            _tailCacheBytes -= _tailCache.Dequeue().Frames.Length;
        }
    }

    // Under _sync: serves the read from the cache when it starts inside it. The cache ends at the high watermark, so a read
    // it can start finishes in it. Decoding happens under the lock; the records are small next to a blob download.
    private bool TryReadFromTailCache(ReadCursor cursor, long highWatermark)
    {
        if (_tailCache.Count == 0 || cursor.Offset < _tailCache.Peek().FirstOffset)
        {
            return false;
        }

        foreach (var block in _tailCache)
        {
            var expected = block.FirstOffset;
            for (var position = 0; expected < highWatermark;)
            {
                var item = AzureSegmentFormat.Next(block.Frames, position, out var itemLength, out var payload);
                if (item != SegmentItem.Record)
                {
                    break; // end of this block
                }

                position += itemLength;
                if (expected++ < cursor.Offset)
                {
                    continue;
                }

                if (!cursor.Fits(itemLength))
                {
                    Interlocked.Increment(ref _tailCacheHits);
                    return true;
                }

                cursor.Add(LogRecordCodec.Decode(payload), itemLength);
                cursor.Offset = expected;
            }
        }

        Interlocked.Increment(ref _tailCacheHits);
        return true;
    }

    // A durable block's record frames as they were appended, starting at offset FirstOffset.
    private sealed record TailBlock(long FirstOffset, byte[] Frames);

    // Retention's fence check (deletes are not conditional writes, so they are guarded by a probe): false when another
    // instance opened the partition after this one, i.e. created a later segment blob, or wrote a fence frame into the
    // active segment after the data this instance knows to be durable. A takeover racing the probe can still let the
    // stale instance delete, but only sealed segments that its own (older, hence no more permissive) view of the ack
    // floors, ages and sizes allows; the new owner's appends are never touched.
    private async Task<bool> IsStillOwnerAsync(CancellationToken cancellationToken)
    {
        AzureSegment active;
        long dataEnd;
        lock (_sync)
        {
            active = _segments[^1];
            dataEnd = active.DataEnd;
        }

        var self = InstanceId.ToString("N");
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = _prefix, Traits = BlobTraits.Metadata }, cancellationToken).ConfigureAwait(false))
        {
            if (AzureSegment.TryParseName(blob.Name, _prefix, out var baseOffset) && baseOffset > active.BaseOffset
                && blob.Metadata.TryGetValue(CreatorMetadataKey, out var creator) && creator != self)
            {
                return false;
            }
        }

        ReadOnlyMemory<byte> tail;
        try
        {
            var response = await _container.GetBlobClient(active.BlobName)
                .DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(dataEnd) }, cancellationToken).ConfigureAwait(false);
            tail = response.Value.Content.ToMemory();
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            return true; // nothing was written after the data this instance knows
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            lock (_sync)
            {
                return !ReferenceEquals(_segments[^1], active); // gone: fine only if this instance rolled past it meanwhile
            }
        }

        for (var position = 0; ;)
        {
            var item = AzureSegmentFormat.Next(tail.Span, position, out var length, out var payload);
            if (item == SegmentItem.Fence && AzureSegmentFormat.ReadFenceInstance(payload) is { } writer && writer != InstanceId)
            {
                return false;
            }

            if (item is SegmentItem.End or SegmentItem.Incomplete || length <= 0 || item is not (SegmentItem.Record or SegmentItem.Fence or SegmentItem.Seal))
            {
                return true; // the rest is this instance's own appends in flight (or bytes this probe cannot judge)
            }

            position += length;
        }
    }

    private async ValueTask<long> AppendNothingAsync()
    {
        Task last;
        long next;
        lock (_sync)
        {
            ThrowIfCannotAppend();
            last = _lastAppend;
            next = _nextOffset;
        }

        await last.ConfigureAwait(false);
        return next;
    }

    private static void Encode(IReadOnlyList<LogRecord> records, int[] sizes, byte[] buffer, long firstOffset)
    {
        for (int i = 0, position = 0; i < records.Count; position += sizes[i], i++)
        {
            LogRecordCodec.Write(records[i], firstOffset + i, sizes[i], buffer.AsSpan(position));
        }
    }

    // Under _sync.
    private long PendingBytesFrom(long offset)
    {
        long bytes = 0;
        foreach (var request in _queue)
        {
            for (var i = (int)Math.Max(request.Written, offset - request.FirstOffset); i < request.Count; i++)
            {
                bytes += request.FrameSizes[i];
            }
        }

        return bytes;
    }

    // Reads from one segment into the cursor. True when the read is complete; false when the segment ran out and the read
    // continues at cursor.Offset in the next one. Corrupt data ends the read with the good records before it, if any.
    private async Task<bool> ReadSegmentAsync(AzureSegment segment, AzureIndexEntry start, long dataEnd, long highWatermark, long nextBase,
        ReadCursor cursor, CancellationToken cancellationToken)
    {
        var client = _container.GetBlobClient(segment.BlobName);
        var position = start.BlobPosition;
        var expected = start.Offset;
        var window = Math.Clamp((long)cursor.MaxBytes + _options.IndexIntervalBytes + (16 * 1024), MinReadWindow, MaxReadWindow);
        while (expected < highWatermark && position < dataEnd)
        {
            var length = (int)Math.Min(window, dataEnd - position);
            var data = await DownloadAsync(client, position, length, cancellationToken).ConfigureAwait(false);
            var consumed = 0;
            while (expected < highWatermark)
            {
                var item = AzureSegmentFormat.Next(data.Span, consumed, out var itemLength, out var payload);
                if (item == SegmentItem.End)
                {
                    break;
                }

                if (item == SegmentItem.Incomplete)
                {
                    if (position + consumed + itemLength > dataEnd || data.Length < length)
                    {
                        return StopOrThrow(cursor, Corruption(segment, expected, $"{AzureSegmentFormat.Describe(item)} at byte {position + consumed}"));
                    }

                    window = Math.Max(window, itemLength);
                    break; // download again from this item
                }

                if (item == SegmentItem.Seal)
                {
                    return expected >= highWatermark || nextBase == long.MaxValue || CheckReachedNext(segment, expected, nextBase, cursor);
                }

                if (item == SegmentItem.Fence)
                {
                    consumed += itemLength;
                    continue;
                }

                if (item != SegmentItem.Record)
                {
                    return StopOrThrow(cursor, Corruption(segment, expected, $"{AzureSegmentFormat.Describe(item)} at byte {position + consumed}"));
                }

                var offset = LogRecordCodec.ReadOffset(payload);
                if (offset != expected)
                {
                    return StopOrThrow(cursor, Corruption(segment, expected, $"a record with offset {offset} at byte {position + consumed}"));
                }

                expected++;
                consumed += itemLength;
                if (offset < cursor.Offset)
                {
                    continue;
                }

                if (!cursor.Fits(itemLength))
                {
                    return true;
                }

                LogRecord record;
                try
                {
                    record = LogRecordCodec.Decode(payload);
                }
                catch (InvalidDataException ex)
                {
                    return StopOrThrow(cursor, Corruption(segment, offset, ex.Message));
                }

                cursor.Add(record, itemLength);
                cursor.Offset = expected;
            }

            position += consumed;
        }

        if (expected >= highWatermark || nextBase == long.MaxValue)
        {
            return true;
        }

        return CheckReachedNext(segment, expected, nextBase, cursor);
    }

    // At the end of a sealed segment: the read continues in the next one, which must start where this one ended.
    private bool CheckReachedNext(AzureSegment segment, long expected, long nextBase, ReadCursor cursor)
    {
        if (expected < nextBase)
        {
            return StopOrThrow(cursor, Corruption(segment, expected, $"the segment ends before offset {nextBase}, where the next segment starts"));
        }

        cursor.Offset = Math.Max(cursor.Offset, expected);
        return false;
    }

    private async Task<long> ScanChunkForTimeAsync(AzureSegment segment, AzureIndexEntry entry, long chunkEnd, long highWatermark, long ticks,
        CancellationToken cancellationToken)
    {
        var length = (int)Math.Min(chunkEnd - entry.BlobPosition, int.MaxValue);
        if (length <= 0)
        {
            return -1;
        }

        var data = await DownloadAsync(_container.GetBlobClient(segment.BlobName), entry.BlobPosition, length, cancellationToken).ConfigureAwait(false);
        var consumed = 0;
        for (var expected = entry.Offset; expected < highWatermark;)
        {
            var item = AzureSegmentFormat.Next(data.Span, consumed, out var itemLength, out var payload);
            switch (item)
            {
                case SegmentItem.End or SegmentItem.Seal:
                    return -1;
                case SegmentItem.Fence:
                    consumed += itemLength;
                    continue;
                case SegmentItem.Record when LogRecordCodec.ReadOffset(payload) == expected:
                    if (LogRecordCodec.ReadTimestampTicks(payload) >= ticks)
                    {
                        return expected;
                    }

                    consumed += itemLength;
                    expected++;
                    continue;
                default:
                    throw Corruption(segment, expected, $"{(item == SegmentItem.Record ? "an out-of-sequence record" : AzureSegmentFormat.Describe(item))} at byte {entry.BlobPosition + consumed}");
            }
        }

        return highWatermark;
    }

    private static async Task<ReadOnlyMemory<byte>> DownloadAsync(BlobClient client, long position, int length, CancellationToken cancellationToken)
    {
        var response = await client.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(position, length) }, cancellationToken).ConfigureAwait(false);
        return response.Value.Content.ToMemory();
    }

    private async Task CloseAsync()
    {
        Task closeTask;
        TaskCompletionSource? owner = null;
        Task lastAppend;
        lock (_sync)
        {
            if (_closeTask is null)
            {
                owner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _closeTask = owner.Task;
                _closed = true;
            }

            closeTask = _closeTask;
            lastAppend = _lastAppend;
        }

        if (owner is null)
        {
            await closeTask.ConfigureAwait(false);
            return;
        }

        // Appends complete in order, so the last one completing means the writer is done with this log.
        await lastAppend.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _factory.Unregister(this);
        owner.SetResult();
    }

    private bool IsGone(AzureSegment segment)
    {
        lock (_sync)
        {
            ThrowIfClosed();
            return Array.IndexOf(_segments, segment) < 0;
        }
    }

    private static bool StopOrThrow(ReadCursor cursor, LogCorruptionException exception) =>
        cursor.HasRecords ? true : throw exception;

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    private void ThrowIfCannotAppend()
    {
        ThrowIfClosed();
        switch (_failure)
        {
            case null:
                return;
            case LogFencedException fenced:
                throw new LogFencedException(fenced.Message, fenced);
            case var failure:
                throw new IOException($"Azure log {Topic}/{Partition} stopped accepting appends after a failed write ({failure.Message}); reopen it.", failure);
        }
    }

    private LogCorruptionException Corruption(AzureSegment segment, long offset, string reason) =>
        new($"Azure log {Topic}/{Partition} is corrupt in blob '{segment.BlobName}' at offset {offset}: {reason}. The records from there to the end of the segment cannot be read; retention can delete the segment once it is no longer needed.");

    private static int FindSegment(AzureSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1;
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

    // The state of one ReadAsync across segments.
    private sealed class ReadCursor(long offset, int maxRecords, int maxBytes)
    {
        private long _bytes;

        public long Offset { get; set; } = offset;

        public int MaxBytes { get; } = maxBytes;

        public List<LogRecord>? Records { get; private set; }

        public bool HasRecords => Records is { Count: > 0 };

        // Whether a record of `frameSize` bytes still fits; the first record always does.
        public bool Fits(int frameSize) =>
            Records is not { Count: > 0 } || (Records.Count < maxRecords && _bytes + frameSize <= MaxBytes);

        public void Add(LogRecord record, int frameSize)
        {
            (Records ??= new List<LogRecord>(Math.Min(maxRecords, 256))).Add(record);
            _bytes += frameSize;
        }
    }
}
