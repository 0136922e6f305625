using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The silo-wide write-ahead journal of the file log (<see cref="FileLogOptions.Journal"/>): a commit round writes every
/// partition's new bytes to their segment files without flushing them, copies the same bytes with their destination into
/// this one file, and makes only this file durable (one <c>fdatasync</c> per round instead of one <c>fsync</c> per
/// touched partition file). The segment files are flushed in the background of a checkpoint, when the journal is full,
/// before a partition directory is deleted, and at shutdown; after a crash, <see cref="Open"/> writes every journaled
/// byte back to its segment file before any log opens, so recovery sees the segments as they were acknowledged.
/// </summary>
/// <remarks>
/// <para>
/// Layout: a 4 KiB header (magic, version, the current generation, CRC32C) and, from byte 4096, entries written one after
/// another: magic, payload length, generation, CRC32C of the payload, then the payload (the segment file's path
/// relative to the log root, the file position and the bytes). The file is reused in place: a checkpoint flushes every
/// segment written since the last one, then writes the header with the next generation, so older entries (still in the
/// file further on) end the scan at their first byte. Overwriting in place keeps the file's size and blocks fixed after
/// the first pass, so <c>fdatasync</c> writes the data and no file metadata.
/// </para>
/// <para>
/// Replay never creates a segment file: segment files are created durably (directory flushed) before a byte of them is
/// acknowledged, so a missing file was deleted on purpose (retention) and its entries are skipped. A partition directory
/// is deleted only after a checkpoint, so a topic deleted and created again never receives its predecessor's bytes.
/// </para>
/// <para>Writer thread only, apart from <see cref="Open"/>.</para>
/// </remarks>
internal sealed class FileJournal : IDisposable
{
    /// <summary>The journal's file name, directly under the log root.</summary>
    public const string FileName = "journal.wal";

    private const int HeaderBytes = JournalFile.HeaderBytes;
    private const uint HeaderMagic = 0x4A514D4F; // "OMQJ"
    private const int EntryHeaderBytes = JournalFile.EntryHeaderBytes;

    private readonly string _root;
    private readonly SafeFileHandle _handle;
    private readonly long _capacity;
    // Segment files written since they were last handed to the background syncer (writer thread only).
    private Dictionary<string, FileSegment> _dirty = new(StringComparer.Ordinal);
    private long _dirtyBytes;
    private long _lastHandOff = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly BackgroundSync _sync = new();
    private byte[] _buffer = new byte[64 * 1024];
    private ulong _generation;
    private long _position = HeaderBytes;
    private long _checkpoints;
    private bool _needsNewGeneration;

    private FileJournal(string root, SafeFileHandle handle, long capacity, ulong generation)
    {
        _root = root;
        _handle = handle;
        _capacity = capacity;
        _generation = generation;
    }

    /// <summary>
    /// Set when flushing segment files failed: what the journal holds may be all there is of some acknowledged records,
    /// so it is never emptied again in this process (every later commit and checkpoint throws); the next start replays it.
    /// </summary>
    public Exception? Broken { get; private set; }

    /// <summary>Checkpoints so far (journal full, directory deletes, shutdown), for tests and metrics.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Where the next entry goes (for tests).</summary>
    internal long Position => _position;

    /// <summary>Sets of segment files flushed in the background so far (for tests).</summary>
    internal long BackgroundSyncs => _sync.Completed;

    /// <summary>
    /// Replays the journal under <paramref name="root"/> if there is one (whatever <paramref name="keep"/> says: a journal
    /// left by a crash holds acknowledged bytes), then either returns it, emptied by a checkpoint, ready for new rounds
    /// (<paramref name="keep"/>), or deletes it and returns null.
    /// </summary>
    /// <exception cref="IOException">The journal or a segment file it names cannot be read or written.</exception>
    public static FileJournal? Open(string root, long capacity, bool keep, ILogger logger) =>
        JournalFile.Open(root, FileName, HeaderMagic, keep, Name, (handle, _) => Replay(root, handle, logger)) is { } opened
            ? new FileJournal(root, opened.Handle, capacity, opened.Generation)
            : null;

    private const string Name = "the file log journal";

    /// <summary>
    /// Journals every chunk of <paramref name="jobs"/> (written to their segments already, not flushed) and makes the
    /// journal durable. False, with nothing written, when the round alone is larger than the journal: the caller must then
    /// flush the segment files themselves. A full journal is checkpointed first.
    /// </summary>
    /// <exception cref="IOException">The journal could not be written or flushed: nothing of the round is known durable.</exception>
    public bool TryCommit(IReadOnlyList<FileLogWriter.FlushJob> jobs)
    {
        var length = 0L;
        foreach (var job in jobs)
        {
            foreach (var request in job.Requests)
            {
                foreach (var chunk in request.Chunks)
                {
                    length += EntryHeaderBytes + EntryPayloadHeader(chunk.Segment) + chunk.Length;
                }
            }
        }

        if (length > _capacity - HeaderBytes || length > Array.MaxLength)
        {
            return false;
        }

        if (_position + length > _capacity || _needsNewGeneration)
        {
            Checkpoint();
        }

        if (_buffer.Length < length)
        {
            _buffer = new byte[Math.Max(length, Math.Min(_buffer.Length * 2L, Array.MaxLength))];
        }

        var span = _buffer.AsSpan(0, (int)length);
        var at = 0;
        foreach (var job in jobs)
        {
            foreach (var request in job.Requests)
            {
                foreach (var chunk in request.Chunks)
                {
                    at += WriteEntry(span[at..], chunk, request.Buffer.AsSpan(chunk.BufferOffset, chunk.Length));
                    _dirty.TryAdd(chunk.Segment.Path, chunk.Segment);
                    _dirtyBytes += chunk.Length;
                }
            }
        }

        try
        {
            RandomAccess.Write(_handle, span, _position);
            DataSync(_handle);
        }
        catch
        {
            // Part of the round may be in the file, valid entries among it, and the next round would not overwrite all of
            // it: start a new generation before writing again (a full disk: the checkpoint needs no new space).
            _needsNewGeneration = true;
            throw;
        }

        _position += length;
        HandOffIfDue();
        return true;
    }

    // Segments written long enough ago (or enough bytes) go to the background syncer, so that a checkpoint only has the
    // last moments' writes left to flush instead of a whole journal's worth (which stalled rounds for tens of ms).
    private void HandOffIfDue()
    {
        if (_dirty.Count == 0 || _sync.Busy
            || (_dirtyBytes < Math.Min(HandOffBytes, _capacity / 4) && System.Diagnostics.Stopwatch.GetElapsedTime(_lastHandOff) < HandOffInterval))
        {
            return;
        }

        _sync.Start(_dirty.Values);
        _dirty = new(StringComparer.Ordinal);
        _dirtyBytes = 0;
        _lastHandOff = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    private static readonly TimeSpan HandOffInterval = TimeSpan.FromMilliseconds(250);
    private const long HandOffBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Flushes every segment file written since the last checkpoint, then starts a new generation at the journal's start:
    /// from then on nothing in it is replayed.
    /// </summary>
    /// <exception cref="IOException">Flushing the segments failed (<see cref="Broken"/> is set), or the header could not be written (retried at the next commit).</exception>
    public void Checkpoint()
    {
        if (Broken is { } broken)
        {
            throw new IOException($"Flushing segment files failed earlier ({broken.Message}); the journal keeps what it holds until the silo restarts.", broken);
        }

        try
        {
            // What the background syncer took must be durable too (it throws what that sync failed with).
            _sync.Wait();
            foreach (var segment in _dirty.Values)
            {
                FlushSegment(segment);
            }
        }
        catch (Exception ex)
        {
            // A failed fsync may have dropped the dirty pages it could not write (a retry can then succeed without them):
            // only the journal still has those records, and only a restart's replay can put them back.
            Broken = ex;
            throw;
        }

        _dirty.Clear();
        _dirtyBytes = 0;
        _needsNewGeneration = true;
        WriteHeader(_generation + 1);
        _needsNewGeneration = false;
        Interlocked.Increment(ref _checkpoints);
    }

    public void Dispose()
    {
        _sync.Dispose();
        _handle.Dispose();
    }

    private int EntryPayloadHeader(FileSegment segment) => 2 + (segment.JournalName ??= Encoding.UTF8.GetBytes(Path.GetRelativePath(_root, segment.Path))).Length + 8;

    private int WriteEntry(Span<byte> entry, WriteChunk chunk, ReadOnlySpan<byte> data)
    {
        var name = chunk.Segment.JournalName!;
        var payloadLength = 2 + name.Length + 8 + data.Length;
        var payload = entry.Slice(EntryHeaderBytes, payloadLength);
        BinaryPrimitives.WriteUInt16LittleEndian(payload, (ushort)name.Length);
        name.CopyTo(payload[2..]);
        BinaryPrimitives.WriteInt64LittleEndian(payload[(2 + name.Length)..], chunk.FilePosition);
        data.CopyTo(payload[(10 + name.Length)..]);
        return JournalFile.Frame(entry, payloadLength, _generation);
    }

    /// <summary>
    /// Flushes a set of segment files on a dedicated thread (never the thread pool: fsync blocks) while the writer goes on
    /// with its rounds. One set at a time.
    /// </summary>
    private sealed class BackgroundSync : IDisposable
    {
        private readonly object _gate = new();
        private readonly Thread _thread;
        private List<FileSegment>? _work;
        private Exception? _failure;
        private long _completed;

        public long Completed => Interlocked.Read(ref _completed);
        private bool _stopping;

        public BackgroundSync()
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "OrleansMQ journal segment sync" };
            _thread.Start();
        }

        public bool Busy
        {
            get
            {
                lock (_gate)
                {
                    return _work is not null;
                }
            }
        }

        public void Start(IEnumerable<FileSegment> segments)
        {
            lock (_gate)
            {
                _work = [.. segments];
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits until the set handed over is flushed; throws if flushing it failed (and from then on).</summary>
        public void Wait()
        {
            lock (_gate)
            {
                while (_work is not null && _failure is null)
                {
                    Monitor.Wait(_gate);
                }

                if (_failure is not null)
                {
                    throw new IOException($"Flushing segment files in the background failed: {_failure.Message}", _failure);
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _stopping = true;
                Monitor.PulseAll(_gate);
            }

            _thread.Join();
        }

        private void Run()
        {
            while (true)
            {
                List<FileSegment> work;
                lock (_gate)
                {
                    while (_work is null && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_work is null)
                    {
                        return;
                    }

                    work = _work;
                }

                Exception? failure = null;
                try
                {
                    foreach (var segment in work)
                    {
                        FlushSegment(segment);
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                lock (_gate)
                {
                    _failure ??= failure;
                    _work = null;
                    Interlocked.Increment(ref _completed);
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private static void FlushSegment(FileSegment segment)
    {
        try
        {
            RandomAccess.FlushToDisk(segment.Handle);
            return;
        }
        catch (ObjectDisposedException)
        {
            // Its log was closed (deactivated) or retention deleted it: flush the file through a handle of our own.
        }

        try
        {
            using var handle = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Deleted: nothing to keep.
        }
    }

    private void WriteHeader(ulong generation)
    {
        JournalFile.WriteHeader(_handle, HeaderMagic, generation, Name);
        _generation = generation;
        _position = HeaderBytes;
    }

    // Reads the header and applies every entry of its generation in order; flushes the segment files it wrote.
    // Null when the header is not valid (nothing was replayed).
    private static ulong? Replay(string root, SafeFileHandle handle, ILogger logger)
    {
        var files = new Dictionary<string, SafeFileHandle?>(StringComparer.Ordinal);
        long bytes = 0, skipped = 0;
        ulong? generation;
        long entries;
        var path = Path.Combine(root, FileName);
        try
        {
            generation = JournalFile.Scan(handle, HeaderMagic, path, payload =>
            {
                var nameLength = payload.Length < 10 ? int.MaxValue : BinaryPrimitives.ReadUInt16LittleEndian(payload);
                if (payload.Length < 10 + (long)nameLength)
                {
                    throw new IOException($"The file log journal '{path}' holds a malformed entry ({payload.Length} bytes).");
                }

                var name = Encoding.UTF8.GetString(payload.Slice(2, nameLength));
                var filePosition = BinaryPrimitives.ReadInt64LittleEndian(payload[(2 + nameLength)..]);
                var data = payload[(10 + nameLength)..];
                if (SegmentHandle(root, name, files) is { } file)
                {
                    RandomAccess.Write(file, data, filePosition);
                    bytes += data.Length;
                }
                else
                {
                    skipped++;
                }
            }, out entries);

            foreach (var file in files.Values)
            {
                if (file is not null)
                {
                    RandomAccess.FlushToDisk(file);
                }
            }
        }
        finally
        {
            foreach (var file in files.Values)
            {
                file?.Dispose();
            }
        }

        if (entries > 0)
        {
            // After a clean stop the journal is empty (the shutdown checkpoint): entries mean a crash, worth a warning.
            FileLogEvents.JournalReplayed(logger, entries, bytes, files.Values.Count(f => f is not null), skipped);
        }

        return generation;
    }

    private static SafeFileHandle? SegmentHandle(string root, string name, Dictionary<string, SafeFileHandle?> files)
    {
        if (files.TryGetValue(name, out var handle))
        {
            return handle;
        }

        var full = Path.GetFullPath(Path.Combine(root, name));
        if (Path.IsPathRooted(name) || !full.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || !FileSegment.TryParseFileName(Path.GetFileName(full), out _))
        {
            throw new IOException($"The file log journal names '{name}', which is not a segment file under '{root}'.");
        }

        try
        {
            handle = File.OpenHandle(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            handle = null; // deleted by retention or with its topic: never recreated
        }

        files[name] = handle;
        return handle;
    }

    private static void DataSync(SafeFileHandle handle) => JournalFile.DataSync(handle, Name);
}
