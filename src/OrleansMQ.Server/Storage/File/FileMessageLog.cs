using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The file segment log of one partition: <c>{DataDirectory}/topics/{topic}/{partition}/{baseOffset:D20}.log</c> files of
/// CRC-framed records (<see cref="LogRecordCodec"/>), written by the factory's shared <see cref="FileLogWriter"/> thread with
/// group commit. Open it through <see cref="FileMessageLogFactory"/>.
/// </summary>
/// <remarks>
/// <para>
/// Threading: <see cref="AppendAsync"/> encodes the records and assigns offsets and file positions on the caller's thread
/// under a short lock, then queues the bytes for the writer thread, which writes, fsyncs and completes them. The high
/// watermark and each segment's durable length only move when the writer reports a round durable, and reads never go past
/// them. Reads use positional I/O (<see cref="RandomAccess"/>) on the shared handles, so they never contend with the writer.
/// </para>
/// <para>
/// Failures: if a write or fsync fails, that round's appends and every later one fail with <see cref="IOException"/> and the
/// instance refuses further appends (the file's state after a failed fsync is unknown); dispose it and open the partition
/// again, which recovers the durable prefix.
/// </para>
/// </remarks>
public sealed partial class FileMessageLog : IMessageLog
{
    private readonly FileMessageLogFactory _factory;
    private readonly FileLogWriter _writer;
    private readonly ILogger _logger;
    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly int _indexInterval;
    private readonly bool _fsyncAlways;
    private readonly Lock _sync = new();
    // Held around an append with fan-out references and around floor changes, so a floor never rises past a reference
    // that is about to be placed (see FanOutStore).
    private readonly object _floorGate = new();

    // Oldest first, never empty; the last one is active. Replaced (never mutated) under _sync, so a snapshot stays valid.
    private FileSegment[] _segments;
    private long _nextOffset;
    private long _highWatermark;
    private long _totalBytes;
    private Task _lastAppend = Task.CompletedTask;
    private Exception? _failure;
    private bool _closed;
    private Task? _closeTask;

    private FileMessageLog(FileMessageLogFactory factory, FileLogWriter writer, FileLogOptions options, ILogger logger,
        string topic, int partition, string directory, FileSegment[] segments)
    {
        _factory = factory;
        _writer = writer;
        _logger = logger;
        Topic = topic;
        Partition = partition;
        _directory = directory;
        _segmentBytes = options.SegmentBytes;
        _indexInterval = options.IndexIntervalBytes;
        _fsyncAlways = options.FsyncPolicy == FsyncPolicy.Always;
        _segments = segments;
        _nextOffset = _highWatermark = segments[^1].EndOffset;
        foreach (var segment in segments)
        {
            _totalBytes += segment.AssignedBytes;
        }
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The partition index.</summary>
    public int Partition { get; }

    /// <summary>The directory holding the partition's segment files.</summary>
    public string Directory => _directory;

    /// <inheritdoc />
    public long LowWatermark => Volatile.Read(ref _segments)[0].BaseOffset;

    /// <inheritdoc />
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    /// <inheritdoc />
    /// <remarks>Includes appends still being written.</remarks>
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

    /// <summary>The segment appends go to (tests use it to inject I/O failures).</summary>
    internal FileSegment ActiveSegment => Volatile.Read(ref _segments)[^1];

    /// <summary>Whether this is the factory's fan-out store rather than a partition's log.</summary>
    internal bool IsFanOutStore { get; private init; }

    /// <summary>Whether this log's fan-out floor is on disk (guarded by the store).</summary>
    internal bool FloorPersisted { get; set; }

    /// <summary>The lowest fan-out store offset this log references (<see cref="long.MaxValue"/>: none).</summary>
    internal long LowestStoreReference
    {
        get
        {
            lock (_sync)
            {
                var lowest = long.MaxValue;
                foreach (var segment in _segments)
                {
                    lowest = Math.Min(lowest, segment.MinStoreReference);
                }

                return lowest;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The cancellation token is only observed before offsets are assigned: once they are, the write must happen (later
    /// appends depend on it). Throws <see cref="ArgumentException"/> for a record larger than 64 MiB encoded,
    /// <see cref="ObjectDisposedException"/> after disposal, and <see cref="IOException"/> once a write failed.
    /// </remarks>
    public ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        var count = records.Count;
        if (count == 0)
        {
            return AppendNothing();
        }

        if (_factory.Store is { Enabled: true } store && !IsFanOutStore && HasShared(records))
        {
            lock (_floorGate)
            {
                ThrowIfCannotAppend();
                return AppendCore(records, store.TryReference(this, records));
            }
        }

        return AppendCore(records, references: false);
    }

    private static bool HasShared(IReadOnlyList<LogRecord> records)
    {
        for (var r = 0; r < records.Count; r++) // indexed: no boxed enumerator per append
        {
            var record = records[r];
            if (record?.Shared is not null)
            {
                return true;
            }
        }

        return false;
    }

    private ValueTask<long> AppendCore(IReadOnlyList<LogRecord> records, bool references)
    {
        var count = records.Count;
        var sizes = ArrayPool<int>.Shared.Rent(count);
        byte[]? buffer = null;
        try
        {
            long total = 0;
            for (var i = 0; i < count; i++)
            {
                var record = records[i] ?? throw new ArgumentException($"Record {i} is null.", nameof(records));
                if (!references && record.StoreOffset >= 0)
                {
                    record.StoreOffset = -1; // set by an earlier attempt: written in full this time
                }

                sizes[i] = LogRecordCodec.GetFrameSize(record);
                total += sizes[i];
            }

            if (total > Array.MaxLength)
            {
                throw new ArgumentException($"An append of {total} bytes is too large; split it.", nameof(records));
            }

            // Encode (and checksum) outside the lock with the offsets the records will most likely get; appends come from
            // one grain, so only a concurrent caller can invalidate the guess, and then the batch is encoded again.
            buffer = ArrayPool<byte>.Shared.Rent((int)total);
            var guessedFirst = Volatile.Read(ref _nextOffset);
            Encode(records, sizes, buffer, guessedFirst);

            PendingAppend request;
            lock (_sync)
            {
                ThrowIfCannotAppend();
                if (_nextOffset != guessedFirst)
                {
                    Encode(records, sizes, buffer, _nextOffset);
                }

                request = Place(records, sizes, buffer, (int)total, references);
                try
                {
                    _writer.Enqueue(request);
                }
                catch (Exception ex)
                {
                    // Offsets and positions were handed out; without this write the log would have a hole.
                    _failure ??= ex;
                    throw;
                }

                _lastAppend = request.Task;
            }

            buffer = null;
            return new ValueTask<long>(request.Task);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sizes);
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Verifies each record's CRC; throws <see cref="LogCorruptionException"/> when a record in range is corrupt.</remarks>
    public ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        cancellationToken.ThrowIfCancellationRequested();
        var cursor = new ReadCursor(fromOffset, maxRecords, maxBytes);
        try
        {
            ReadCore(ref cursor);
        }
        finally
        {
            cursor.References?.Dispose();
        }

        return new ValueTask<IReadOnlyList<LogRecord>>(cursor.Records ?? (IReadOnlyList<LogRecord>)[]);
    }

    private void ReadCore(ref ReadCursor cursor)
    {
        while (true)
        {
            FileSegment segment;
            IndexEntry start;
            long durableBytes, highWatermark, nextBase;
            lock (_sync)
            {
                ThrowIfClosed();
                highWatermark = _highWatermark;
                var segments = _segments;
                if (cursor.Offset < segments[0].BaseOffset)
                {
                    if (cursor.HasRecords)
                    {
                        break; // retention overtook this read: a batch never skips offsets, the next read starts at the new low watermark
                    }

                    cursor.Offset = segments[0].BaseOffset;
                }

                if (cursor.Offset >= highWatermark)
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
                        break; // return the good records; the next read, starting here, throws
                    }

                    throw Corruption(segment, cursor.Offset, segment.CorruptionReason!);
                }

                start = segment.Index.Count > 0 ? segment.Index.Floor(cursor.Offset) : new IndexEntry(segment.BaseOffset, 0, long.MinValue);
                durableBytes = segment.DurableBytes;
            }

            if (!TryAcquire(segment.Handle))
            {
                // Retention deleted the segment after the snapshot: take a new one (see above).
                ThrowIfGone(segment);
                continue;
            }

            bool done;
            try
            {
                done = ReadSegment(segment, start, durableBytes, highWatermark, nextBase, ref cursor);
            }
            finally
            {
                segment.Handle.DangerousRelease();
            }

            if (done)
            {
                break;
            }
        }
    }

    /// <summary>
    /// The store's segment holding <paramref name="offset"/>, where to start scanning for it and how far the segment is
    /// readable. False when the offset is not held (below the low or at or past the high watermark).
    /// </summary>
    internal bool TryLocate(long offset, out FileSegment segment, out IndexEntry start, out long durableBytes, out long nextBase)
    {
        lock (_sync)
        {
            ThrowIfClosed();
            var segments = _segments;
            if (offset < segments[0].BaseOffset || offset >= _highWatermark)
            {
                segment = null!;
                start = default;
                durableBytes = nextBase = 0;
                return false;
            }

            var s = FindSegment(segments, offset);
            segment = segments[s];
            nextBase = s + 1 < segments.Length ? segments[s + 1].BaseOffset : long.MaxValue;
            start = segment.Index.Count > 0 ? segment.Index.Floor(offset) : new IndexEntry(segment.BaseOffset, 0, long.MinValue);
            durableBytes = segment.DurableBytes;
            return true;
        }
    }

    /// <inheritdoc />
    /// <remarks>Completes at once: the log's directory belongs to one silo, and one process opens a partition once (the open-log registry).</remarks>
    public ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    /// <remarks>Scans only index chunks whose latest time stamp is late enough (time stamps need not be monotonic).</remarks>
    public ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ticks = timestamp.UtcTicks;
        FileSegment[] segments;
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
                IndexEntry entry;
                long chunkEnd;
                lock (_sync)
                {
                    if (segment.MaxTimestampTicks < ticks || (chunk = segment.Index.FindChunk(chunk, ticks)) < 0)
                    {
                        break;
                    }

                    entry = segment.Index[chunk];
                    chunkEnd = chunk + 1 < segment.Index.Count ? Math.Min(segment.Index[chunk + 1].Position, segment.DurableBytes) : segment.DurableBytes;
                }

                if (entry.Offset >= highWatermark)
                {
                    return new ValueTask<long>(highWatermark);
                }

                if (!TryAcquire(segment.Handle))
                {
                    break; // deleted by retention: its records are gone, look in the next segments
                }

                try
                {
                    var found = ScanChunkForTime(segment, entry, chunkEnd, highWatermark, ticks);
                    if (found >= 0)
                    {
                        return new ValueTask<long>(found);
                    }
                }
                finally
                {
                    segment.Handle.DangerousRelease();
                }
            }
        }

        return new ValueTask<long>(highWatermark);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Exact to within <see cref="FileLogOptions.IndexIntervalBytes"/>; includes appends still being written. A reference
    /// record counts with the message bytes it names in the fan-out store (spread evenly over its segment), so backlog
    /// limits see what a consumer would read.
    /// </remarks>
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

            var s = FindSegment(segments, offset);
            var segment = segments[s];
            var bytes = segment.AssignedBytes - (segment.Index.Count > 0 ? segment.Index.Floor(offset).Position : 0);
            if (segment.ReferencedBytes > 0 && segment.AssignedBytes > 0)
            {
                bytes += (long)((double)segment.ReferencedBytes * bytes / segment.AssignedBytes);
            }

            for (s++; s < segments.Length; s++)
            {
                bytes += segments[s].AssignedBytes + segments[s].ReferencedBytes;
            }

            return bytes;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only sealed segments whose records are all durable are candidates. Readers holding a deleted segment finish their
    /// read (the file handle closes after them); later reads start at the new low watermark.
    /// </remarks>
    public async ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        FileSegment[] removed;
        long lowWatermark;
        lock (_sync)
        {
            ThrowIfClosed();
            var segments = _segments;
            if (request.DeleteBelowOffset is { } below && below >= _nextOffset && _highWatermark == _nextOffset && _failure is null
                && segments[^1] is { HasRecords: true, MinStoreReference: not long.MaxValue })
            {
                // Everything is released and the active segment holds fan-out references: seal it behind a new, empty
                // active segment so it can go and stops pinning the fan-out store (an idle queue would otherwise keep
                // every store record since its last reference).
                segments = _segments = [.. segments, CreateDurableSegment(_nextOffset)];
            }

            var bytes = _totalBytes;
            var delete = 0;
            while (delete < segments.Length - 1 && segments[delete + 1].BaseOffset <= _highWatermark)
            {
                var segment = segments[delete];
                if (!RetentionRule.ShouldDelete(request, segments[delete + 1].BaseOffset, segment.MaxTimestampTicks, segment.HasRecords, bytes))
                {
                    break;
                }

                bytes -= segment.AssignedBytes;
                delete++;
            }

            removed = segments[..delete];
            if (delete > 0)
            {
                _segments = segments[delete..];
                _totalBytes = bytes;
            }

            lowWatermark = _segments[0].BaseOffset;
        }

        if (removed.Length > 0)
        {
            await Task.Run(() => DeleteSegmentFiles(removed), CancellationToken.None).ConfigureAwait(false);
            FileLogEvents.RetentionDeleted(_logger, Topic, Partition, removed.Length, lowWatermark);
            if (_factory.Store is { } store && !IsFanOutStore && Array.Exists(removed, r => r.MinStoreReference != long.MaxValue))
            {
                lock (_floorGate)
                {
                    store.SetFloor(this, LowestStoreReference);
                }
            }
        }

        return lowWatermark;
    }

    /// <inheritdoc />
    /// <remarks>Waits for appends in flight, closes the files, checkpoints the journal (if any) and deletes the partition's directory.</remarks>
    public async ValueTask DeleteAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            ThrowIfClosed();
        }

        await CloseAsync().ConfigureAwait(false);
        // With a journal, its entries for these files must be dead before the directory goes: a partition created again at
        // the same path must never have the old bytes replayed into it.
        await _writer.CheckpointAsync().ConfigureAwait(false);
        await Task.Run(() =>
        {
            if (System.IO.Directory.Exists(_directory))
            {
                System.IO.Directory.Delete(_directory, recursive: true);
            }
        }, CancellationToken.None).ConfigureAwait(false);
        _factory.Store?.Forget(_directory);
    }

    /// <inheritdoc />
    /// <remarks>Waits for appends in flight (they complete normally), then closes the files. Idempotent.</remarks>
    public ValueTask DisposeAsync() => new(CloseAsync());

    /// <summary>Called by the writer thread once <paramref name="requests"/> (this log's, in order) are durable.</summary>
    internal void OnDurable(List<PendingAppend> requests)
    {
        lock (_sync)
        {
            foreach (var request in requests)
            {
                foreach (var chunk in request.Chunks)
                {
                    chunk.Segment.DurableBytes = chunk.FilePosition + chunk.Length;
                }
            }

            Volatile.Write(ref _highWatermark, requests[^1].EndOffset);
        }

        foreach (var request in requests)
        {
            request.ReturnBuffer();
            request.TrySetResult(request.FirstOffset);
        }
    }

    /// <summary>Called by the writer thread when <paramref name="requests"/> could not be made durable.</summary>
    internal void OnFailed(List<PendingAppend> requests, Exception exception)
    {
        Exception failure;
        lock (_sync)
        {
            failure = _failure ??= exception;
        }

        if (ReferenceEquals(failure, exception))
        {
            FileLogEvents.WriteFailed(_logger, exception, Topic, Partition);
        }

        foreach (var request in requests)
        {
            request.ReturnBuffer();
            request.TrySetException(new IOException($"Appending to log {Topic}/{Partition} failed: {failure.Message} The log must be reopened.", failure));
        }
    }

    /// <summary>The failure that stopped appends, if any (read by the writer thread to fail later requests without writing).</summary>
    internal Exception? Failure
    {
        get
        {
            lock (_sync)
            {
                return _failure;
            }
        }
    }

    /// <summary>This log's requests in the writer's current commit round (writer thread only).</summary>
    internal List<PendingAppend> RoundRequests { get; } = [];

    /// <summary>Test hook: runs on the reading thread before a reference record (at the given offset) is resolved.</summary>
    internal Action<long>? BeforeReferenceRead { get; set; }

    private async ValueTask<long> AppendNothing()
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

    // Assigns offsets and file positions, rolling segments as needed. Runs under _sync; the frames are already encoded.
    private PendingAppend Place(IReadOnlyList<LogRecord> records, int[] sizes, byte[] buffer, int total, bool references)
    {
        var count = records.Count;
        var first = _nextOffset;
        var segments = _segments;

        // Create the files of new segments before touching any state, so a failure leaves the log as it was.
        List<FileSegment>? created = null;
        try
        {
            var assigned = segments[^1].AssignedBytes;
            for (var i = 0; i < count; i++)
            {
                if (assigned > 0 && assigned + sizes[i] > _segmentBytes)
                {
                    (created ??= []).Add(CreateSegment(first + i));
                    assigned = 0;
                }

                assigned += sizes[i];
            }
        }
        catch
        {
            DeleteSegmentFiles(created ?? []);
            throw;
        }

        var chunks = new List<WriteChunk>(1 + (created?.Count ?? 0));
        var segment = segments[^1];
        var nextCreated = 0;
        var chunkStart = 0;
        var chunkPosition = segment.AssignedBytes;
        var position = 0;
        for (var i = 0; i < count; i++)
        {
            var offset = first + i;
            if (created is not null && nextCreated < created.Count && created[nextCreated].BaseOffset == offset)
            {
                if (position > chunkStart)
                {
                    chunks.Add(new WriteChunk(segment, chunkPosition, chunkStart, position - chunkStart));
                }

                segment = created[nextCreated++];
                chunkStart = position;
                chunkPosition = 0;
            }

            var record = records[i];
            record.Offset = offset;
            segment.AddRecord(offset, segment.AssignedBytes, sizes[i], record.Timestamp.UtcTicks);
            if (references && record.StoreOffset >= 0)
            {
                segment.MinStoreReference = Math.Min(segment.MinStoreReference, record.StoreOffset);
                segment.ReferencedBytes += record.Shared!.Bytes.Length;
            }
            position += sizes[i];
        }

        chunks.Add(new WriteChunk(segment, chunkPosition, chunkStart, position - chunkStart));
        if (created is not null)
        {
            _segments = [.. segments, .. created];
        }

        _nextOffset += count;
        _totalBytes += total;
        return new PendingAppend(this, first, count, buffer, total, [.. chunks]) { HasReferences = references };
    }

    private static void Encode(IReadOnlyList<LogRecord> records, int[] sizes, byte[] buffer, long firstOffset)
    {
        for (int i = 0, position = 0; i < records.Count; position += sizes[i], i++)
        {
            LogRecordCodec.Write(records[i], firstOffset + i, sizes[i], buffer.AsSpan(position));
        }
    }

    // A new active segment whose directory entry is durable at once (the segments before it may be deleted right after,
    // and a log must never reopen with no segment: it would start again at offset 0).
    private FileSegment CreateDurableSegment(long baseOffset)
    {
        var segment = CreateSegment(baseOffset);
        if (_fsyncAlways)
        {
            DirectorySync.Flush(_directory);
        }

        segment.NeedsDirectorySync = false;
        return segment;
    }

    private FileSegment CreateSegment(long baseOffset)
    {
        var path = Path.Combine(_directory, FileSegment.FileName(baseOffset));
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        return new FileSegment(path, baseOffset, handle, _indexInterval) { NeedsDirectorySync = true };
    }

    private void DeleteSegmentFiles(IEnumerable<FileSegment> segments)
    {
        foreach (var segment in segments)
        {
            segment.Handle.Dispose();
            try
            {
                File.Delete(segment.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                FileLogEvents.SegmentDeleteFailed(_logger, ex, segment.Path);
            }
        }
    }

    // Reads from one segment into the cursor. True when the read is complete; false when the segment ran out and the
    // read continues at cursor.Offset in the next segment. Corrupt data ends the read with the good records before it, if
    // any (the next read starts at the corrupt record and throws), so a reader gets everything that can be trusted.
    private bool ReadSegment(FileSegment segment, IndexEntry start, long durableBytes, long highWatermark, long nextBase, ref ReadCursor cursor)
    {
        using var scanner = new FrameScanner(segment.Handle, start.Position, durableBytes);
        var expected = start.Offset;
        while (expected < highWatermark)
        {
            var framePosition = scanner.Position;
            var status = scanner.Next(out var payload);
            if (status == FrameStatus.End)
            {
                break;
            }

            if (status != FrameStatus.Record)
            {
                return StopOrThrow(cursor, Corruption(segment, expected, $"{Describe(status)} at byte {framePosition}"));
            }

            var offset = LogRecordCodec.ReadOffset(payload);
            if (offset != expected)
            {
                return StopOrThrow(cursor, Corruption(segment, expected, $"a record with offset {offset} at byte {framePosition}"));
            }

            expected++;
            if (offset < cursor.Offset)
            {
                continue;
            }

            var reference = LogRecordCodec.IsReference(payload) ? LogRecordCodec.ReadReference(payload) : default(StoreReference?);
            var size = payload.Length + LogRecordCodec.FrameHeaderSize + (reference?.TailLength ?? 0);
            if (!cursor.Fits(size))
            {
                return true;
            }

            LogRecord record;
            try
            {
                if (reference is { } r)
                {
                    BeforeReferenceRead?.Invoke(offset);
                    var store = _factory.Store ?? throw new InvalidDataException("a reference record, but this log has no fan-out store");
                    record = LogRecordCodec.Decode(payload, (cursor.References ??= new FanOutStore.Reader(store)).Read(r));
                }
                else
                {
                    record = LogRecordCodec.Decode(payload);
                }
            }
            catch (InvalidDataException) when (reference is not null && IsRemoved(segment))
            {
                // Retention overtook this read and the store dropped what the deleted segment referenced: end the batch
                // here (a batch never skips offsets), or, with nothing read yet, go on at the new low watermark.
                return cursor.HasRecords;
            }
            catch (InvalidDataException ex)
            {
                return StopOrThrow(cursor, Corruption(segment, offset, $"{ex.Message} (byte {framePosition})"));
            }

            cursor.Add(record, size);

            cursor.Offset = expected;
        }

        if (expected >= highWatermark)
        {
            return true;
        }

        if (expected < nextBase && nextBase != long.MaxValue)
        {
            return StopOrThrow(cursor, Corruption(segment, expected, $"the segment ends at byte {scanner.Position} before offset {nextBase}, where the next segment starts"));
        }

        cursor.Offset = expected;
        return false;
    }

    private long ScanChunkForTime(FileSegment segment, IndexEntry entry, long chunkEnd, long highWatermark, long ticks)
    {
        using var scanner = new FrameScanner(segment.Handle, entry.Position, chunkEnd, 8 * 1024);
        for (var expected = entry.Offset; expected < highWatermark; expected++)
        {
            var framePosition = scanner.Position;
            var status = scanner.Next(out var payload);
            if (status == FrameStatus.End)
            {
                return -1;
            }

            if (status != FrameStatus.Record || LogRecordCodec.ReadOffset(payload) != expected)
            {
                throw Corruption(segment, expected, $"{(status == FrameStatus.Record ? "an out-of-sequence record" : Describe(status))} at byte {framePosition}");
            }

            if (LogRecordCodec.ReadTimestampTicks(payload) >= ticks)
            {
                return expected;
            }
        }

        return highWatermark;
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

        try
        {
            // Appends complete in order, so the last one completing means the writer is done with this log.
            await lastAppend.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var segment in Volatile.Read(ref _segments))
            {
                segment.Handle.Dispose();
            }

            _factory.Unregister(this);
            owner.SetResult();
        }
        catch (Exception ex)
        {
            owner.SetException(ex);
            throw;
        }
    }

    private static bool StopOrThrow(in ReadCursor cursor, LogCorruptionException exception) =>
        cursor.HasRecords ? true : throw exception;

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    private void ThrowIfCannotAppend()
    {
        ThrowIfClosed();
        if (_failure is { } failure)
        {
            throw new IOException($"Log {Topic}/{Partition} stopped accepting appends after a failed write ({failure.Message}); reopen it.", failure);
        }
    }

    private bool IsRemoved(FileSegment segment)
    {
        lock (_sync)
        {
            return Array.IndexOf(_segments, segment) < 0;
        }
    }

    // After a failed handle reference: progress is guaranteed only if the segment left the list (retention) or the log closed.
    private void ThrowIfGone(FileSegment segment)
    {
        lock (_sync)
        {
            ThrowIfClosed();
            if (Array.IndexOf(_segments, segment) >= 0)
            {
                throw new ObjectDisposedException(segment.Path);
            }
        }
    }

    private LogCorruptionException Corruption(FileSegment segment, long offset, string reason) =>
        new($"Log {Topic}/{Partition} is corrupt in '{segment.Path}' at offset {offset}: {reason}. The records from there to the end of the segment cannot be read; retention can delete the segment once it is no longer needed.");

    private static string Describe(FrameStatus status) => status switch
    {
        FrameStatus.Truncated => "a truncated record",
        FrameStatus.BadLength => "an invalid record length",
        FrameStatus.BadChecksum => "a CRC mismatch",
        _ => status.ToString(),
    };

    // Takes a reference on a segment's handle for a read; false when retention disposed it.
    internal static bool TryAcquire(SafeFileHandle handle)
    {
        var acquired = false;
        try
        {
            handle.DangerousAddRef(ref acquired);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return acquired;
    }

    private static int FindSegment(FileSegment[] segments, long offset)
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
    private struct ReadCursor(long offset, int maxRecords, int maxBytes)
    {
        public long Offset = offset;
        public List<LogRecord>? Records;
        public FanOutStore.Reader? References;
        private long _bytes;

        public readonly bool HasRecords => Records is { Count: > 0 };

        // Whether a record of `frameSize` bytes still fits; the first record always does.
        public readonly bool Fits(int frameSize) =>
            Records is null || (Records.Count < maxRecords && _bytes + frameSize <= maxBytes) || Records.Count == 0;

        public void Add(LogRecord record, int frameSize)
        {
            (Records ??= new List<LogRecord>(Math.Min(maxRecords, 256))).Add(record);
            _bytes += frameSize;
        }
    }
}
