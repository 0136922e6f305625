using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using OrleansMQ.Grains;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Stores a fan-out's message once per silo: when a router sends one message unchanged to several queues or topics
/// (<see cref="LogRecord.Shared"/>), the first file log to append a copy puts its key-to-body bytes in this store (a
/// log of its own under <c>{DataDirectory}/fanout/0</c>) and every copy is written as a 51-byte reference record
/// (<see cref="LogRecordCodec.ReferenceFormat"/>) that reads resolve back into the full record.
/// </summary>
/// <remarks>
/// <para>
/// <b>Durability.</b> A store record is queued on the shared writer before any reference to it, so it is written in the
/// same commit round or an earlier one; the writer handles the store first in a round (its journal entries come first;
/// without a journal its file is flushed before the other logs are written), and fails every reference of a round once
/// the store failed. Recovery cuts a log's active segment at a reference beyond the store's end (never acknowledged).
/// </para>
/// <para>
/// <b>Retention by reference.</b> Every log holding references has a floor: the lowest store offset it may reference.
/// A log writes its floor durably (<c>fanout.floor</c> in its directory) before its first reference: the store's
/// active segment base at that moment, or lower where the messages of that append are stored already. A reference is
/// never below its log's floor (a message stored below it is stored again). Retention raises the floor to the lowest
/// reference left, or removes it. The store deletes a sealed segment only when it ends at or below every floor (and
/// below its active segment), choosing under the same lock that sets floors, so a record is kept while any log may
/// still reference it, whether that log is open or not.
/// </para>
/// </remarks>
internal sealed class FanOutStore
{
    /// <summary>The store's directory under the log root.</summary>
    public const string DirectoryName = "fanout";

    /// <summary>The floor file in a referencing log's directory.</summary>
    public const string FloorFileName = "fanout.floor";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _floors = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly bool _fsync;
    private Exception? _failure;
    private bool _collecting; // guarded by _gate
    private bool _collectAgain;

    private readonly bool _owned;

    private FanOutStore(FileMessageLog log, bool owned, bool enabled, bool fsync, ILogger logger)
    {
        Log = log;
        _owned = owned;
        Enabled = enabled && owned;
        _fsync = fsync;
        _logger = logger;
    }

    /// <summary>The store's own log.</summary>
    public FileMessageLog Log { get; }

    /// <summary>Whether new fan-out copies are written as references (<see cref="FileLogOptions.StoreFanOutOnce"/>).</summary>
    public bool Enabled { get; }

    /// <summary>
    /// Opens the store (recovering its log) and loads the floors of every log under the root. The store is written (and
    /// its unreferenced records deleted) only by a writer with a journal, whose file lock gives it the data directory to
    /// itself; silos sharing a directory (no journal) only read a store left there, and null when there is none.
    /// </summary>
    public static FanOutStore? Open(FileMessageLogFactory factory, FileLogWriter writer, FileLogOptions options, ILogger logger)
    {
        var directory = Path.Combine(options.DataDirectory, DirectoryName, "0");
        var owned = writer.HasJournal;
        if (!owned && !System.IO.Directory.Exists(directory))
        {
            return null;
        }

        var log = FileMessageLog.OpenStore(factory, writer, options, logger, directory);
        var store = new FanOutStore(log, owned, options.StoreFanOutOnce, options.FsyncPolicy == FsyncPolicy.Always, logger);
        var topics = Path.Combine(options.DataDirectory, "topics");
        if (System.IO.Directory.Exists(topics))
        {
            foreach (var path in System.IO.Directory.EnumerateFiles(topics, FloorFileName, new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 }))
            {
                var logDirectory = Path.GetDirectoryName(path)!;
                long floor;
                try
                {
                    floor = ReadFloor(path) ?? 0;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    FileLogEvents.FanOutFloorUnreadable(logger, ex, path);
                    floor = 0;
                }

                store._floors[logDirectory] = floor;
            }
        }

        store.CollectSoon();
        return store;
    }

    /// <summary>Where a log's references may start (the store's end once recovered: anything at or past it was never stored).</summary>
    public long End => Log.HighWatermark;

    /// <summary>
    /// Called with <paramref name="log"/>'s floor lock held, before its records are sized: turns every record with a
    /// <see cref="LogRecord.Shared"/> message into a reference, storing the messages not stored yet (or stored below the
    /// log's floor). False (no record changed) when the store cannot take them; the copies are then written in full.
    /// </summary>
    public bool TryReference(FileMessageLog log, IReadOnlyList<LogRecord> records)
    {
        List<LogRecord>? blobs = null;
        List<SharedTail>? stored = null;
        lock (_gate)
        {
            if (_failure is not null)
            {
                return false;
            }

            if (!log.FloorPersisted || !_floors.ContainsKey(log.Directory))
            {
                // Durable before the first reference, and at or below every reference this log will write: the store's
                // active segment, or lower where this append's messages are stored already (segments are only deleted
                // under this lock, so what is at or above the low watermark now stays while the floor stands).
                var floor = Log.ActiveSegment.BaseOffset;
                var lowWatermark = Log.LowWatermark;
                for (var r = 0; r < records.Count; r++) // indexed: no boxed enumerator per append
                {
                    var record = records[r];
                    if (record.Shared is { } shared && ReferenceEquals(shared.Store, this) && shared.StoreOffset >= lowWatermark)
                    {
                        floor = Math.Min(floor, shared.StoreOffset);
                    }
                }

                if (_floors.TryGetValue(log.Directory, out var known))
                {
                    floor = Math.Min(floor, known);
                }

                WriteFloor(log.Directory, floor, durable: _fsync);
                _floors[log.Directory] = floor;
                log.FloorPersisted = true;
            }

            // A message is referenced where it is stored unless that is below this log's floor; then it is stored again.
            // One pass: records already stored get their reference now, the others once the store has placed them.
            var logFloor = _floors[log.Directory];
            List<LogRecord>? storing = null;
            for (var r = 0; r < records.Count; r++)
            {
                var record = records[r];
                if (record.Shared is not { } shared)
                {
                    continue;
                }

                if (ReferenceEquals(shared.Store, this) && (shared.StoreOffset < 0 || shared.StoreOffset >= logFloor))
                {
                    record.StoreOffset = shared.StoreOffset;
                    continue;
                }

                shared.Store = this;
                shared.StoreOffset = -1; // being stored by this call
                shared.Crc ??= Crc32C.Compute(shared.Bytes.Span);
                (blobs ??= []).Add(new LogRecord { Timestamp = record.Timestamp, Shared = shared });
                (stored ??= []).Add(shared);
                (storing ??= []).Add(record);
            }

            if (blobs is not null)
            {
                ValueTask<long> appended;
                try
                {
                    appended = Log.AppendAsync(blobs);
                }
                catch (Exception ex)
                {
                    _failure = ex;
                    foreach (var shared in stored!)
                    {
                        shared.Store = null;
                    }

                    // No record changed is what the caller relies on: undo the references given in the pass above.
                    for (var r = 0; r < records.Count; r++)
                    {
                        records[r].StoreOffset = -1;
                    }

                    FileLogEvents.FanOutStoreFailed(_logger, ex);
                    return false;
                }

                for (var i = 0; i < blobs.Count; i++)
                {
                    storing![i].StoreOffset = stored![i].StoreOffset = blobs[i].Offset;
                }

                if (!appended.IsCompletedSuccessfully)
                {
                    _ = ObserveAsync(appended);
                }
            }
        }

        return true;
    }

    /// <summary>True once the store failed: the writer then fails every reference it has not written yet.</summary>
    public bool Failed => Log.Failure is not null || Volatile.Read(ref _failure) is not null;

    /// <summary>
    /// Called with <paramref name="log"/>'s floor lock held when it opened or deleted segments: its floor becomes the
    /// lowest reference it holds (<paramref name="lowest"/>, <see cref="long.MaxValue"/> for none).
    /// </summary>
    public void SetFloor(FileMessageLog log, long lowest)
    {
        if (!_owned)
        {
            return; // nothing is deleted from a store this process does not own: floors only matter to its owner
        }

        lock (_gate)
        {
            if (lowest == long.MaxValue && !log.FloorPersisted && !_floors.ContainsKey(log.Directory))
            {
                return; // never referenced anything
            }

            var path = Path.Combine(log.Directory, FloorFileName);
            if (lowest == long.MaxValue)
            {
                _floors.Remove(log.Directory);
                log.FloorPersisted = false;
                File.Delete(path);
            }
            else
            {
                var onDisk = File.Exists(path);
                if (!onDisk || !_floors.TryGetValue(log.Directory, out var known) || known != lowest)
                {
                    // A raise need not be durable: an older, lower floor only keeps more.
                    WriteFloor(log.Directory, lowest, durable: !onDisk && _fsync);
                }

                _floors[log.Directory] = lowest;
                log.FloorPersisted = true;
            }
        }

        CollectSoon();
    }

    /// <summary>Forgets the floor of a log whose directory was deleted.</summary>
    public void Forget(string directory)
    {
        lock (_gate)
        {
            _floors.Remove(directory);
        }

        CollectSoon();
    }

    /// <summary>Deletes, in the background, the store's sealed segments that no log can reference any more.</summary>
    public void CollectSoon()
    {
        if (!_owned)
        {
            return;
        }

        lock (_gate)
        {
            if (_collecting)
            {
                _collectAgain = true;
                return;
            }

            _collecting = true;
        }

        _ = Task.Run(CollectAsync);
    }

    /// <summary>The store's floors by log directory (tests).</summary>
    internal Dictionary<string, long> Floors
    {
        get
        {
            lock (_gate)
            {
                return new(_floors, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Completes once a collection started now has finished (tests).</summary>
    internal async Task CollectNowAsync()
    {
        while (true)
        {
            lock (_gate)
            {
                if (!_collecting)
                {
                    _collecting = true;
                    break;
                }
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        await CollectAsync().ConfigureAwait(false);
    }

    private async Task CollectAsync()
    {
        while (true)
        {
            try
            {
                ValueTask<long> deleting;
                lock (_gate)
                {
                    _collectAgain = false;
                    var below = Log.ActiveSegment.BaseOffset;
                    foreach (var floor in _floors.Values)
                    {
                        below = Math.Min(below, floor);
                    }

                    // The store log picks the segments to delete synchronously, here, so no floor can be set between
                    // reading the floors and that choice; only deleting the files happens after the lock.
                    deleting = Log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = below });
                }

                await deleting.ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The factory is closing.
            }
            catch (Exception ex)
            {
                FileLogEvents.FanOutCollectFailed(_logger, ex);
            }

            lock (_gate)
            {
                if (!_collectAgain)
                {
                    _collecting = false;
                    return;
                }
            }
        }
    }

    private static async Task ObserveAsync(ValueTask<long> appended)
    {
        try
        {
            await appended.ConfigureAwait(false);
        }
        catch
        {
            // The writer failed the store (Failed) and every reference written with it.
        }
    }

    private static long? ReadFloor(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 12 || Crc32C.Compute(bytes.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
        {
            throw new IOException($"The fan-out floor file '{path}' is not 12 bytes with a valid CRC.");
        }

        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    private static void WriteFloor(string directory, long floor, bool durable)
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, floor);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], Crc32C.Compute(bytes[..8]));
        var path = Path.Combine(directory, FloorFileName);
        var temporary = path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, bytes, 0);
            if (durable)
            {
                RandomAccess.FlushToDisk(handle);
            }
        }

        File.Move(temporary, path, overwrite: true);
        if (durable)
        {
            DirectorySync.Flush(directory);
        }
    }

    /// <summary>
    /// Resolves the references of one read, in order: consecutive references usually name nearby store records, so one
    /// scanner moves forward through the store instead of seeking for each.
    /// </summary>
    internal sealed class Reader(FanOutStore store) : IDisposable
    {
        private const int MaxSkip = 256;
        private FrameScanner? _scanner;
        private SafeFileHandle? _handle;
        private long _next;
        private long _segmentEnd;

        /// <summary>The key-to-body bytes <paramref name="reference"/> names; valid until the next call.</summary>
        /// <exception cref="InvalidDataException">The store does not hold it (any more), or holds something else there.</exception>
        public ReadOnlySpan<byte> Read(StoreReference reference)
        {
            var target = reference.StoreOffset;
            if (_scanner is null || target < _next || target >= _segmentEnd || target - _next > MaxSkip)
            {
                Seek(target);
            }

            while (true)
            {
                var position = _scanner!.Position;
                var status = _scanner.Next(out var payload);
                if (status != FrameStatus.Record)
                {
                    Release();
                    throw new InvalidDataException($"the fan-out store's record {target} is unreadable ({status} at byte {position} of its segment)");
                }

                var offset = LogRecordCodec.ReadOffset(payload);
                _next = offset + 1;
                if (offset < target)
                {
                    continue;
                }

                var tail = LogRecordCodec.IsReference(payload) || offset != target ? default : LogRecordCodec.Tail(payload);
                if (offset != target || tail.Length != reference.TailLength || Crc32C.Compute(tail) != reference.TailCrc)
                {
                    Release();
                    throw new InvalidDataException($"the fan-out store's record {target} is not the one referenced (found offset {offset}, {tail.Length} bytes)");
                }

                return tail;
            }
        }

        public void Dispose() => Release();

        private void Seek(long target)
        {
            Release();
            if (!store.Log.TryLocate(target, out var segment, out var start, out var durableBytes, out var nextBase))
            {
                throw new InvalidDataException($"the fan-out store no longer holds record {target} (it holds {store.Log.LowWatermark} to {store.Log.HighWatermark - 1})");
            }

            if (!FileMessageLog.TryAcquire(segment.Handle))
            {
                throw new InvalidDataException($"the fan-out store's segment holding record {target} was deleted");
            }

            _handle = segment.Handle;
            _scanner = new FrameScanner(segment.Handle, start.Position, durableBytes);
            _next = start.Offset;
            _segmentEnd = nextBase;
        }

        private void Release()
        {
            _scanner?.Dispose();
            _scanner = null;
            _handle?.DangerousRelease();
            _handle = null;
        }
    }
}
