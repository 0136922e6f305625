using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The write-ahead journal of <see cref="FileGrainStorage"/> (<see cref="FileGrainStorageOptions.Journal"/>): state
/// changes are group-committed, one <c>fdatasync</c> of this file for every change queued meanwhile, instead of a
/// temporary file, its fsync, a rename and a directory fsync per change. The changed state files themselves are written
/// (durably, by the storage's own replace) only at a checkpoint: when the journal is full, and at dispose. Until then the
/// latest content of every changed file is kept in memory and reads are answered from it. After a crash,
/// <see cref="Open"/> applies the last journaled content of every file before anything reads it.
/// </summary>
/// <remarks>
/// Format: <see cref="JournalFile"/>, header magic "OMQT"; an entry's payload is the state file's path relative to the
/// root (u16 length + UTF-8), a kind byte (0: the new content follows, 1: the file is deleted) and the content.
/// Changes are decided and journaled on one dedicated thread, in the order they were queued, each against the latest
/// content (journaled or on disk) of its file.
/// </remarks>
internal sealed class StateJournal : IDisposable
{
    /// <summary>The journal's file name, directly under the state root.</summary>
    public const string FileName = "state.wal";

    private const uint HeaderMagic = 0x54514D4F; // "OMQT"
    private const byte KindWrite = 0;
    private const byte KindDelete = 1;

    private readonly string _root;
    private readonly SafeFileHandle _handle;
    private readonly long _capacity;
    private readonly Action<string, byte[]?> _applyDurably;
    private readonly object _gate = new();
    // Full path → content journaled since the last checkpoint (null: deleted). Written by the committer, read by readers.
    private readonly Dictionary<string, byte[]?> _latest = new(StringComparer.Ordinal);
    private readonly Thread _thread;
    private List<Change> _queue = [];
    private bool _stopping;
    private byte[] _buffer = new byte[64 * 1024];
    private ulong _generation;
    private long _position = JournalFile.HeaderBytes;
    private bool _needsCheckpoint;
    private long _commits;
    private long _checkpoints;

    private StateJournal(string root, SafeFileHandle handle, long capacity, ulong generation, Action<string, byte[]?> applyDurably)
    {
        _root = root;
        _handle = handle;
        _capacity = capacity;
        _generation = generation;
        _applyDurably = applyDurably;
        _thread = new Thread(Run) { IsBackground = true, Name = "OrleansMQ grain state journal" };
        _thread.Start();
    }

    /// <summary>Journal writes (each one fdatasync) so far, for tests and metrics.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Checkpoints so far, for tests.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>
    /// Applies the journal under <paramref name="root"/> if there is one (whatever <paramref name="keep"/> says), then
    /// returns it emptied and ready (<paramref name="keep"/>), or deletes it and returns null.
    /// </summary>
    /// <param name="root">The state root directory.</param>
    /// <param name="capacity">The journal's size; a checkpoint empties it when the next commit would not fit.</param>
    /// <param name="keep">Whether to journal from now on.</param>
    /// <param name="applyDurably">Writes a state file durably (null content: deletes it durably).</param>
    /// <exception cref="IOException">The journal or a state file cannot be read or written.</exception>
    public static StateJournal? Open(string root, long capacity, bool keep, Action<string, byte[]?> applyDurably)
    {
        var opened = JournalFile.Open(root, FileName, HeaderMagic, keep, Name, (handle, path) =>
        {
            // Only the last change of each file matters.
            var replayed = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
            var generation = JournalFile.Scan(handle, HeaderMagic, path, payload =>
            {
                var (file, content) = Parse(root, path, payload);
                replayed[file] = content;
            }, out _);
            foreach (var (file, content) in replayed)
            {
                applyDurably(file, content);
            }

            return generation;
        });
        return opened is { } o ? new StateJournal(root, o.Handle, capacity, o.Generation, applyDurably) : null;
    }

    private const string Name = "the grain state journal";

    /// <summary>The content journaled for <paramref name="path"/> since the last checkpoint (null: deleted), if any.</summary>
    public bool TryGetLatest(string path, out byte[]? content)
    {
        lock (_gate)
        {
            return _latest.TryGetValue(path, out content);
        }
    }

    /// <summary>
    /// Queues a change of <paramref name="path"/>: <paramref name="decide"/> gets the file's latest content (null: none) on
    /// the committer thread and returns the new content (null: delete) and the result; it throws to refuse the change. The
    /// task completes with the result once the change is durable.
    /// </summary>
    public Task<T> CommitAsync<T>(string path, Func<byte[]?, (byte[]? Content, T Result)> decide)
    {
        var change = new Change<T>(path, decide);
        lock (_gate)
        {
            if (_stopping)
            {
                throw new ObjectDisposedException(nameof(StateJournal));
            }

            _queue.Add(change);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }

        return change.Completion.Task;
    }

    /// <summary>Commits what is queued, checkpoints (every state file written durably, the journal emptied) and closes.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
        try
        {
            Checkpoint();
        }
        catch (IOException)
        {
            // The journal still holds every change: the next start applies them.
        }

        _handle.Dispose();
    }

    private void Run()
    {
        while (true)
        {
            List<Change> batch;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_queue.Count == 0)
                {
                    return;
                }

                batch = _queue;
                _queue = [];
            }

            Process(batch);
        }
    }

    // Decides every change against the latest content (earlier changes of the batch included), journals the accepted ones
    // with one write and one fdatasync (more when the journal fills up), then publishes them to readers and completes them.
    private void Process(List<Change> batch)
    {
        var overlay = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        var accepted = new List<(Change Change, byte[]? Content)>(batch.Count);
        var length = 0L;
        foreach (var change in batch)
        {
            byte[]? content;
            try
            {
                var current = overlay.TryGetValue(change.Path, out var pending) ? pending : Current(change.Path);
                content = change.Decide(current);
                if (content is null && current is null)
                {
                    change.Complete(); // nothing to delete: nothing to journal
                    continue;
                }
            }
            catch (Exception ex)
            {
                change.Fail(ex);
                continue;
            }

            var entry = EntryLength(change, content);
            if (entry > _capacity - JournalFile.HeaderBytes)
            {
                change.Fail(new IOException($"A grain state of {content?.Length ?? 0} bytes does not fit in the grain state journal ({_capacity} bytes, {nameof(FileGrainStorageOptions)}.{nameof(FileGrainStorageOptions.JournalBytes)})."));
                continue;
            }

            // (After a checkpoint, which the next write makes first when one is due, entries start at the header's end.)
            if ((_needsCheckpoint ? JournalFile.HeaderBytes : _position) + length + entry > _capacity)
            {
                Write(accepted, length);
                accepted.Clear();
                length = 0;
                _needsCheckpoint = true;
            }

            overlay[change.Path] = content;
            accepted.Add((change, content));
            length += entry;
        }

        Write(accepted, length);
    }

    private void Write(List<(Change Change, byte[]? Content)> changes, long length)
    {
        if (changes.Count == 0)
        {
            return;
        }

        try
        {
            if (_needsCheckpoint)
            {
                Checkpoint();
            }

            if (_buffer.Length < length)
            {
                _buffer = new byte[Math.Max(length, _buffer.Length * 2L)];
            }

            var at = 0;
            foreach (var (change, content) in changes)
            {
                at += WriteEntry(_buffer.AsSpan(at), change, content);
            }

            try
            {
                RandomAccess.Write(_handle, _buffer.AsSpan(0, at), _position);
                JournalFile.DataSync(_handle, Name);
            }
            catch
            {
                // Part of it may be in the file: start a new generation before writing again.
                _needsCheckpoint = true;
                throw;
            }

            _position += at;
            Interlocked.Increment(ref _commits);
        }
        catch (Exception ex)
        {
            foreach (var (change, _) in changes)
            {
                change.Fail(ex);
            }

            return;
        }

        lock (_gate)
        {
            foreach (var (change, content) in changes)
            {
                _latest[change.Path] = content;
            }
        }

        foreach (var (change, _) in changes)
        {
            change.Complete();
        }
    }

    // Every file changed since the last checkpoint is written durably; then a new generation empties the journal.
    private void Checkpoint()
    {
        KeyValuePair<string, byte[]?>[] files;
        lock (_gate)
        {
            files = [.. _latest];
        }

        foreach (var (file, content) in files)
        {
            _applyDurably(file, content);
        }

        JournalFile.WriteHeader(_handle, HeaderMagic, _generation + 1, Name);
        _generation++;
        _position = JournalFile.HeaderBytes;
        _needsCheckpoint = false;
        lock (_gate)
        {
            _latest.Clear();
        }

        Interlocked.Increment(ref _checkpoints);
    }

    private byte[]? Current(string path)
    {
        lock (_gate)
        {
            if (_latest.TryGetValue(path, out var latest))
            {
                return latest;
            }
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private long EntryLength(Change change, byte[]? content) =>
        JournalFile.EntryHeaderBytes + 2 + (change.JournalName ??= Encoding.UTF8.GetBytes(Path.GetRelativePath(_root, change.Path))).Length + 1 + (content?.Length ?? 0);

    private int WriteEntry(Span<byte> entry, Change change, byte[]? content)
    {
        var name = change.JournalName!;
        var payloadLength = 2 + name.Length + 1 + (content?.Length ?? 0);
        var payload = entry.Slice(JournalFile.EntryHeaderBytes, payloadLength);
        BinaryPrimitives.WriteUInt16LittleEndian(payload, (ushort)name.Length);
        name.CopyTo(payload[2..]);
        payload[2 + name.Length] = content is null ? KindDelete : KindWrite;
        content?.CopyTo(payload[(3 + name.Length)..]);
        return JournalFile.Frame(entry, payloadLength, _generation);
    }

    private static (string File, byte[]? Content) Parse(string root, string journal, ReadOnlySpan<byte> payload)
    {
        var nameLength = payload.Length < 3 ? int.MaxValue : BinaryPrimitives.ReadUInt16LittleEndian(payload);
        if (payload.Length < 3 + (long)nameLength || payload[2 + nameLength] is not (KindWrite or KindDelete))
        {
            throw new IOException($"The grain state journal '{journal}' holds a malformed entry ({payload.Length} bytes).");
        }

        var name = Encoding.UTF8.GetString(payload.Slice(2, nameLength));
        var full = Path.GetFullPath(Path.Combine(root, name));
        if (Path.IsPathRooted(name) || !full.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new IOException($"The grain state journal '{journal}' names '{name}', which is not under '{root}'.");
        }

        return (full, payload[2 + nameLength] == KindDelete ? null : payload[(3 + nameLength)..].ToArray());
    }

    private abstract class Change(string path)
    {
        public string Path { get; } = path;

        public byte[]? JournalName { get; set; }

        public abstract byte[]? Decide(byte[]? current);

        public abstract void Complete();

        public abstract void Fail(Exception error);
    }

    private sealed class Change<T>(string path, Func<byte[]?, (byte[]? Content, T Result)> decide) : Change(path)
    {
        private T _result = default!;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override byte[]? Decide(byte[]? current)
        {
            (var content, _result) = decide(current);
            return content;
        }

        public override void Complete() => Completion.TrySetResult(_result);

        public override void Fail(Exception error) => Completion.TrySetException(error);
    }
}
