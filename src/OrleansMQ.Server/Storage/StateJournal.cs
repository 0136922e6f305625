using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The write-ahead journal of <see cref="FileGrainStorage"/> (<see cref="FileGrainStorageOptions.Journal"/>): state
/// changes are group-committed, one <c>fdatasync</c> of the journal for every change queued meanwhile, instead of a
/// temporary file, its fsync, a rename and a directory fsync per change. The changed state files themselves are written
/// (durably, by the storage's own replace) only at a checkpoint: when the journal is full, and at dispose. Until then the
/// latest content of every changed file is kept in memory and reads are answered from it. After a crash,
/// <see cref="Open"/> applies the last journaled content of every file before anything reads it.
/// </summary>
/// <remarks>
/// <para>
/// Two journal files take turns (<see cref="FileName"/> and <see cref="SecondFileName"/>, each of the configured
/// capacity). When the active one is full, commits go on in the other while a background thread writes the full one's
/// files (a checkpoint of 1,000 changed files takes most of a second: one fsync'd replace each) and then empties it.
/// Commits wait only when the second file fills up before that checkpoint is done.
/// </para>
/// <para>
/// Format: <see cref="JournalFile"/>, header magic "OMQT"; an entry's payload is the state file's path relative to the
/// root (u16 length + UTF-8), a kind byte (0: the new content follows, 1: the file is deleted) and the content. Every
/// switch gives the file taking over a generation above every one used before, so after a crash the file with the
/// lower generation holds the older changes and is applied first.
/// Changes are decided and journaled on one dedicated thread, in the order they were queued, each against the latest
/// content (journaled or on disk) of its file.
/// </para>
/// </remarks>
internal sealed class StateJournal : IDisposable
{
    /// <summary>The first journal file's name, directly under the state root.</summary>
    public const string FileName = "state.wal";

    /// <summary>The second journal file's name, directly under the state root.</summary>
    public const string SecondFileName = "state.2.wal";

    private const uint HeaderMagic = 0x54514D4F; // "OMQT"
    private const byte KindWrite = 0;
    private const byte KindDelete = 1;

    private readonly string _root;
    private readonly SafeFileHandle[] _handles;
    private readonly long _capacity;
    private readonly Action<string, byte[]?> _applyDurably;
    private readonly object _gate = new();
    // Full path → content journaled in the active file (null: deleted). Written by the committer, read by readers.
    private Dictionary<string, byte[]?> _latest = new(StringComparer.Ordinal);
    // The same for the other file while its checkpoint runs (null when none does). Under _gate.
    private Dictionary<string, byte[]?>? _flushing;
    private Task _checkpoint = Task.CompletedTask;
    private readonly Thread _thread;
    private List<Change> _queue = [];
    private bool _stopping;
    private byte[] _buffer = new byte[64 * 1024];
    private int _active;
    private ulong _generation;
    private ulong _lastGeneration;
    private long _position = JournalFile.HeaderBytes;
    private bool _needsSwitch;
    private long _commits;
    private long _checkpoints;

    private StateJournal(string root, SafeFileHandle first, ulong firstGeneration, SafeFileHandle second, ulong secondGeneration, long capacity, Action<string, byte[]?> applyDurably)
    {
        _root = root;
        _handles = [first, second];
        _generation = firstGeneration;
        _lastGeneration = Math.Max(firstGeneration, secondGeneration);
        _capacity = capacity;
        _applyDurably = applyDurably;
        _thread = new Thread(Run) { IsBackground = true, Name = "OrleansMQ grain state journal" };
        _thread.Start();
    }

    /// <summary>Journal writes (each one fdatasync) so far, for tests and metrics.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Checkpoints completed so far (a journal file's changes written and the file emptied), for tests.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>
    /// Applies the journal files under <paramref name="root"/> if there are any (whatever <paramref name="keep"/> says),
    /// then returns the journal emptied and ready (<paramref name="keep"/>), or deletes its files and returns null.
    /// </summary>
    /// <param name="root">The state root directory.</param>
    /// <param name="capacity">The size of each of the two files; the active one switches when the next commit would not fit.</param>
    /// <param name="keep">Whether to journal from now on.</param>
    /// <param name="applyDurably">Writes a state file durably (null content: deletes it durably).</param>
    /// <exception cref="IOException">The journal or a state file cannot be read or written.</exception>
    public static StateJournal? Open(string root, long capacity, bool keep, Action<string, byte[]?> applyDurably)
    {
        var secondPath = Path.Combine(root, SecondFileName);
        var replayed = false;
        var first = JournalFile.Open(root, FileName, HeaderMagic, keep, Name, (handle, path) =>
        {
            // Both files are applied before either is emptied, the older generation first so the newer content wins.
            replayed = true;
            var generation = Read(root, handle, path, out var changes);
            var generations = new List<(ulong Generation, Dictionary<string, byte[]?> Changes)>();
            if (generation is { } g)
            {
                generations.Add((g, changes));
            }

            SafeFileHandle? second = null;
            try
            {
                if (File.Exists(secondPath))
                {
                    second = File.OpenHandle(secondPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                    if (Read(root, second, secondPath, out var secondChanges) is { } g2)
                    {
                        generations.Add((g2, secondChanges));
                    }
                }

                foreach (var (_, applied) in generations.OrderBy(x => x.Generation))
                {
                    foreach (var (file, content) in applied)
                    {
                        applyDurably(file, content);
                    }
                }

                // Emptied here (not only when it is opened below), so a crash in between cannot apply it again later.
                if (second is not null && generations.Count > 0)
                {
                    JournalFile.WriteHeader(second, HeaderMagic, generations.Max(x => x.Generation) + 1, Name);
                }
            }
            finally
            {
                second?.Dispose();
            }

            return generation;
        });

        // Without the first file nothing above ran: the second (if any) is applied on its own.
        var secondOpened = JournalFile.Open(root, SecondFileName, HeaderMagic, keep, Name, (handle, path) =>
        {
            var generation = Read(root, handle, path, out var changes);
            if (!replayed)
            {
                foreach (var (file, content) in changes)
                {
                    applyDurably(file, content);
                }
            }

            return generation;
        });

        if (first is not { } f || secondOpened is not { } s)
        {
            first?.Handle.Dispose();
            secondOpened?.Handle.Dispose();
            return null;
        }

        return new StateJournal(root, f.Handle, f.Generation, s.Handle, s.Generation, capacity, applyDurably);
    }

    // The last journaled content of every file in a journal file (the file's generation; null: never valid).
    private static ulong? Read(string root, SafeFileHandle handle, string path, out Dictionary<string, byte[]?> changes)
    {
        var latest = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        var generation = JournalFile.Scan(handle, HeaderMagic, path, payload =>
        {
            var (file, content) = Parse(root, path, payload);
            latest[file] = content;
        }, out _);
        changes = latest;
        return generation;
    }

    private const string Name = "the grain state journal";

    /// <summary>The content journaled for <paramref name="path"/> since the last checkpoint (null: deleted), if any.</summary>
    public bool TryGetLatest(string path, out byte[]? content)
    {
        lock (_gate)
        {
            return _latest.TryGetValue(path, out content) || (_flushing?.TryGetValue(path, out content) ?? false);
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
            FinishCheckpoint();
            Checkpoint(_latest, _active, ++_lastGeneration);
            lock (_gate)
            {
                _latest = new(StringComparer.Ordinal);
            }

            Interlocked.Increment(ref _checkpoints);
        }
        catch (IOException)
        {
            // The journal still holds every change: the next start applies them.
        }

        foreach (var handle in _handles)
        {
            handle.Dispose();
        }
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
            if ((_needsSwitch ? JournalFile.HeaderBytes : _position) + length + entry > _capacity)
            {
                Write(accepted, length);
                accepted.Clear();
                length = 0;
                _needsSwitch = true;
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
            if (_needsSwitch)
            {
                Switch();
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
                RandomAccess.Write(_handles[_active], _buffer.AsSpan(0, at), _position);
                JournalFile.DataSync(_handles[_active], Name);
            }
            catch
            {
                // Part of it may be in the file: go on in the other file (a new generation) before writing again.
                _needsSwitch = true;
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

    // The active file is full (or a write to it failed): commits go on in the other file, under a new generation, while
    // a background thread writes the full file's changes durably and then empties it. Waits only for the previous
    // checkpoint, when it is still running (and redoes it here if it failed: throws when it fails again).
    private void Switch()
    {
        FinishCheckpoint();
        var full = _active;
        var next = 1 - full;
        var generation = ++_lastGeneration;
        JournalFile.WriteHeader(_handles[next], HeaderMagic, generation, Name);
        var emptied = ++_lastGeneration; // the full file's header once its changes are in their files
        Dictionary<string, byte[]?> changes;
        lock (_gate)
        {
            changes = _latest;
            _flushing = changes;
            _latest = new(StringComparer.Ordinal);
        }

        _active = next;
        _generation = generation;
        _position = JournalFile.HeaderBytes;
        _needsSwitch = false;
        _checkpoint = Task.Factory.StartNew(() =>
        {
            Checkpoint(changes, full, emptied);
            lock (_gate)
            {
                _flushing = null;
            }

            Interlocked.Increment(ref _checkpoints);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    // Waits for the background checkpoint; when it failed, writes its changes here (the file that holds them is emptied
    // only after they are all written, so until then a restart would apply them).
    private void FinishCheckpoint()
    {
        try
        {
            _checkpoint.GetAwaiter().GetResult();
            return;
        }
        catch (Exception)
        {
            // Retried below, on this thread: a failure then fails the commits that wait for it (and the next try again).
        }

        Dictionary<string, byte[]?>? changes;
        lock (_gate)
        {
            changes = _flushing;
        }

        if (changes is not null)
        {
            Checkpoint(changes, 1 - _active, ++_lastGeneration);
            lock (_gate)
            {
                _flushing = null;
            }

            Interlocked.Increment(ref _checkpoints);
        }

        _checkpoint = Task.CompletedTask;
    }

    // Writes every file of a generation's changes durably, then empties the journal file that held them (a header with
    // a generation none of its entries has).
    private void Checkpoint(Dictionary<string, byte[]?> changes, int file, ulong emptiedGeneration)
    {
        KeyValuePair<string, byte[]?>[] files;
        lock (_gate)
        {
            files = [.. changes];
        }

        foreach (var (path, content) in files)
        {
            _applyDurably(path, content);
        }

        JournalFile.WriteHeader(_handles[file], HeaderMagic, emptiedGeneration, Name);
    }

    private byte[]? Current(string path)
    {
        if (TryGetLatest(path, out var latest))
        {
            return latest;
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
