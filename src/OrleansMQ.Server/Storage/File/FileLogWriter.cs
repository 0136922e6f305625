using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The group-commit writer shared by every <see cref="FileMessageLog"/> of a factory: one dedicated thread (never a
/// thread-pool or Orleans scheduler thread, which must not block in fsync) drains the queue of pending appends of all
/// partitions in rounds of at most <see cref="FileLogOptions.MaxBytesPerCommit"/> bytes, writes them with positional
/// gather writes, fsyncs each touched file once per round (several files side by side, <see cref="FileLogOptions.ParallelFlushes"/>),
/// and only then completes the appends of that file's log (asynchronously, so no caller continuation runs on this thread).
/// </summary>
/// <remarks>
/// Per log, requests are written and completed in queue order, which is offset order. Within a log's share of a round,
/// a segment is fsynced before the next segment receives any byte: recovery relies on that (see <see cref="FileMessageLog"/>).
/// </remarks>
internal sealed class FileLogWriter : IDisposable
{
    // pwritev accepts at most IOV_MAX (1024 on Linux) buffers per call.
    private const int MaxGatherBuffers = 512;

    private readonly object _gate = new();
    private readonly Queue<PendingAppend> _queue = new();
    private readonly List<PendingAppend> _round = [];
    private readonly List<FileMessageLog> _roundLogs = [];
    private readonly List<ReadOnlyMemory<byte>> _gather = [];
    private readonly List<FlushJob> _flushes = [];
    private readonly ParallelFlusher<FlushJob>? _flusher;
    private readonly FileJournal? _journal;
    private readonly List<TaskCompletionSource> _checkpointWaiters = [];
    private readonly Action<FlushJob> _flushAndComplete;
    private readonly int _maxBytesPerCommit;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private bool _stopping;
    private long _rounds;

    public FileLogWriter(FileLogOptions options, ILogger logger)
    {
        _maxBytesPerCommit = options.MaxBytesPerCommit;
        _fsync = options.FsyncPolicy == FsyncPolicy.Always;
        _logger = logger;
        _flushAndComplete = FlushAndComplete;
        // Replays a journal left by an earlier run (whatever the options say) before any log opens.
        _journal = FileJournal.Open(options.DataDirectory, options.JournalBytes, keep: _fsync && options.Journal, logger);
        _flusher = _fsync && options.ParallelFlushes > 1 ? new ParallelFlusher<FlushJob>(options.ParallelFlushes, "OrleansMQ file log flusher") : null;
        _thread = new Thread(Run) { IsBackground = true, Name = "OrleansMQ file log writer" };
        _thread.Start();
    }

    /// <summary>
    /// Whether this writer keeps a journal, and so holds the data directory for itself (the journal's file lock): the
    /// fan-out store is only written then.
    /// </summary>
    internal bool HasJournal => _journal is not null;

    /// <summary>The factory's fan-out store (set once, before any append).</summary>
    internal FanOutStore? Store { get; set; }

    /// <summary>Test hook: runs on the writer thread before each round is written.</summary>
    internal Action? BeforeRound { get; set; }

    /// <summary>Test hook: runs on the thread about to fsync a log's last segment of the round (the writer's or a helper's).</summary>
    internal Action? BeforeFlush { get; set; }

    /// <summary>Commit rounds so far (for tests and metrics).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Journal checkpoints so far (0 without a journal).</summary>
    public long JournalCheckpoints => _journal?.Checkpoints ?? 0;

    /// <summary>Sets of segment files the journal had flushed in the background (0 without a journal).</summary>
    internal long JournalBackgroundSyncs => _journal?.BackgroundSyncs ?? 0;

    /// <summary>
    /// With a journal: completes once every segment file written so far is flushed and the journal emptied, so nothing
    /// journaled can be replayed into a file afterwards (called before a partition directory is deleted: a topic created
    /// again under the same name must never receive its predecessor's bytes). Without a journal: at once.
    /// </summary>
    public Task CheckpointAsync()
    {
        if (_journal is null)
        {
            return Task.CompletedTask;
        }

        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _checkpointWaiters.Add(waiter);
            Monitor.Pulse(_gate);
        }

        return waiter.Task;
    }

    /// <summary>Queues <paramref name="request"/>. Called under the log's lock, so per log the queue order is offset order.</summary>
    /// <exception cref="ObjectDisposedException">The writer was stopped.</exception>
    public void Enqueue(PendingAppend request)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _queue.Enqueue(request);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Writes what is queued, then stops the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
            _flusher?.Dispose();
        }
    }

    private void Run()
    {
        while (true)
        {
            TaskCompletionSource[]? checkpoints = null;
            lock (_gate)
            {
                while (_queue.Count == 0 && _checkpointWaiters.Count == 0)
                {
                    if (_stopping)
                    {
                        StopJournal();
                        return;
                    }

                    Monitor.Wait(_gate);
                }

                if (_checkpointWaiters.Count > 0)
                {
                    checkpoints = [.. _checkpointWaiters];
                    _checkpointWaiters.Clear();
                }

                long bytes = 0;
                while (_queue.Count > 0 && (_round.Count == 0 || bytes + _queue.Peek().Length <= _maxBytesPerCommit))
                {
                    var request = _queue.Dequeue();
                    bytes += request.Length;
                    _round.Add(request);
                }
            }

            if (checkpoints is not null)
            {
                // Before this round: what it journals is after the checkpoint, in the new generation.
                Checkpoint(checkpoints);
            }

            if (_round.Count == 0)
            {
                continue;
            }

            try
            {
                BeforeRound?.Invoke();
                Commit();
            }
            catch (Exception ex)
            {
                // Only a bug gets here (I/O failures are handled per log). Fail the round's logs rather than hang their
                // callers or let later appends land after a hole.
                FileLogEvents.WriterFailed(_logger, ex);
                foreach (var request in _round)
                {
                    request.Log.OnFailed([request], ex);
                }
            }
            finally
            {
                foreach (var log in _roundLogs)
                {
                    log.RoundRequests.Clear();
                }

                _roundLogs.Clear();
                _flushes.Clear();
                _round.Clear();
                _gather.Clear();
                Interlocked.Increment(ref _rounds);
            }
        }
    }

    private void Commit()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var request in _round)
        {
            if (request.Log.RoundRequests.Count == 0)
            {
                _roundLogs.Add(request.Log);
            }

            request.Log.RoundRequests.Add(request);
        }

        // The fan-out store goes first: its records are journaled (or, without a journal, flushed) before any reference
        // to them, and once it failed the references to what it did not store fail too.
        var store = Store;
        if (store is not null && _roundLogs.Count > 1 && _roundLogs.IndexOf(store.Log) is > 0 and var at)
        {
            _roundLogs.RemoveAt(at);
            _roundLogs.Insert(0, store.Log);
        }

        foreach (var log in _roundLogs)
        {
            var requests = log.RoundRequests;
            if (log.Failure is { } failure)
            {
                // Writing after a failed write would leave a hole; the log has to be reopened anyway.
                log.OnFailed(requests, failure);
                continue;
            }

            if (FailedWithStore(store, log, requests))
            {
                continue;
            }

            FileSegment? last;
            try
            {
                last = Write(requests);
            }
            catch (Exception ex)
            {
                _gather.Clear();
                log.OnFailed(requests, ex);
                continue;
            }

            if (last is null || !_fsync)
            {
                log.OnDurable(requests);
            }
            else if (log.IsFanOutStore && _journal is null)
            {
                FlushAndComplete(new FlushJob(log, requests, last)); // durable before a reference to it is written
            }
            else
            {
                _flushes.Add(new FlushJob(log, requests, last));
            }
        }

        // Everything is written; now one journal write and flush, or else an fsync per file (side by side when the round
        // touched several files).
        if (_journal is null || _flushes.Count == 0 || !CommitToJournal())
        {
            FlushFiles();
        }

        OrleansMQTelemetry.StorageWriteDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, StorageTag);
        OrleansMQTelemetry.StorageWriteBatchSize.Record(_round.Count, StorageTag);
    }

    private static readonly KeyValuePair<string, object?> StorageTag = new("storage", "file");

    /// <summary>
    /// Once the fan-out store failed, fails a log's appends that hold reference records (what they point at may not be
    /// stored) and says so. The cheap test first: the store's state takes its lock.
    /// </summary>
    private static bool FailedWithStore(FanOutStore? store, FileMessageLog log, List<PendingAppend> requests)
    {
        if (store is null || log.IsFanOutStore || !requests.Exists(r => r.HasReferences) || !store.Failed)
        {
            return false;
        }

        log.OnFailed(requests, new IOException("The fan-out store failed to write messages these records reference."));
        return true;
    }

    private void FlushFiles()
    {
        if (_flushes.Count > 1 && _flushes[0].Log.IsFanOutStore)
        {
            // A round too large for the journal: the store's file is flushed before the files that reference it.
            FlushAndComplete(_flushes[0]);
            _flushes.RemoveAt(0);
            _flushes.RemoveAll(job => FailedWithStore(Store, job.Log, job.Requests));
        }

        if (_flusher is not null && _flushes.Count > 1)
        {
            _flusher.Run(_flushes, _flushAndComplete);
            return;
        }

        foreach (var job in _flushes)
        {
            FlushAndComplete(job);
        }
    }

    // A log's share of a round, written and waiting for the fsync of its last segment.
    internal readonly record struct FlushJob(FileMessageLog Log, List<PendingAppend> Requests, FileSegment Segment);

    // True when the round is durable through the journal (its appends are completed, or failed with the journal); false
    // when the round is too large for the journal and its files must be flushed directly.
    private bool CommitToJournal()
    {
        try
        {
            foreach (var job in _flushes)
            {
                // Replay never creates a segment file, so a new one's directory entry must be durable before it is acknowledged.
                if (job.Segment.NeedsDirectorySync)
                {
                    DirectorySync.Flush(Path.GetDirectoryName(job.Segment.Path)!);
                    job.Segment.NeedsDirectorySync = false;
                }
            }

            if (!_journal!.TryCommit(_flushes))
            {
                return false;
            }
        }
        catch (Exception ex)
        {
            // A full or failing disk fails this round's appends (their logs reopen, as after any failed write); the journal
            // starts a new generation before the next round, so publishing resumes once the disk does. Only a failed
            // segment flush leaves it broken until a restart.
            if (_journal!.Broken is not null)
            {
                FileLogEvents.JournalFailed(_logger, ex);
            }
            else
            {
                FileLogEvents.JournalWriteFailed(_logger, ex);
            }

            foreach (var job in _flushes)
            {
                job.Log.OnFailed(job.Requests, ex);
            }

            return true;
        }

        foreach (var job in _flushes)
        {
            job.Log.OnDurable(job.Requests);
        }

        return true;
    }

    private void Checkpoint(TaskCompletionSource[] waiters)
    {
        try
        {
            _journal!.Checkpoint();
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            foreach (var waiter in waiters)
            {
                waiter.TrySetException(ex);
            }
        }
    }

    // At shutdown (writer thread): flush the segments and empty the journal, so the next start has nothing to replay.
    private void StopJournal()
    {
        if (_journal is null)
        {
            return;
        }

        try
        {
            if (_journal.Broken is null)
            {
                _journal.Checkpoint();
            }
        }
        catch (Exception ex)
        {
            // The next start replays the journal instead.
            FileLogEvents.JournalWriteFailed(_logger, ex);
        }
        finally
        {
            _journal.Dispose();
        }
    }

    // On the writer thread or a flusher helper; one job per log per round.
    private void FlushAndComplete(FlushJob job)
    {
        try
        {
            BeforeFlush?.Invoke();
            Flush(job.Segment);
        }
        catch (Exception ex)
        {
            job.Log.OnFailed(job.Requests, ex);
            return;
        }

        job.Log.OnDurable(job.Requests);
    }

    // Writes one log's requests: contiguous chunks of a segment go out as one gather write; a segment is flushed before
    // the next one is written to. Returns the last segment written, which the caller flushes (null when nothing was written).
    private FileSegment? Write(List<PendingAppend> requests)
    {
        FileSegment? segment = null;
        long gatherPosition = 0, nextPosition = 0;
        foreach (var request in requests)
        {
            foreach (var chunk in request.Chunks)
            {
                if (!ReferenceEquals(chunk.Segment, segment) || chunk.FilePosition != nextPosition || _gather.Count == MaxGatherBuffers)
                {
                    WriteGathered(segment, gatherPosition);
                    if (segment is not null && !ReferenceEquals(chunk.Segment, segment))
                    {
                        Flush(segment);
                    }

                    segment = chunk.Segment;
                    gatherPosition = chunk.FilePosition;
                }

                _gather.Add(new ReadOnlyMemory<byte>(request.Buffer, chunk.BufferOffset, chunk.Length));
                nextPosition = chunk.FilePosition + chunk.Length;
            }
        }

        WriteGathered(segment, gatherPosition);
        return segment;
    }

    private void WriteGathered(FileSegment? segment, long position)
    {
        if (_gather.Count == 0)
        {
            return;
        }

        if (_gather.Count == 1)
        {
            RandomAccess.Write(segment!.Handle, _gather[0].Span, position);
        }
        else
        {
            RandomAccess.Write(segment!.Handle, _gather, position);
        }

        _gather.Clear();
    }

    private void Flush(FileSegment segment)
    {
        if (!_fsync)
        {
            return;
        }

        RandomAccess.FlushToDisk(segment.Handle);
        if (segment.NeedsDirectorySync)
        {
            // A new segment's directory entry must be durable before its records are acknowledged.
            DirectorySync.Flush(Path.GetDirectoryName(segment.Path)!);
            segment.NeedsDirectorySync = false;
        }
    }
}
