namespace OrleansMQ.Server.Storage;

/// <summary>
/// Runs a commit round's fsyncs side by side: the calling (writer) thread and a few dedicated helper threads take jobs
/// from one list until it is empty, and <see cref="Run"/> returns when every job finished. Dedicated threads, because an
/// fsync blocks (never on the thread pool or an Orleans scheduler).
/// </summary>
internal sealed class ParallelFlusher<T> : IDisposable
{
    private readonly object _gate = new();
    private readonly Thread[] _helpers;
    private Batch? _current;
    private long _generation;
    private bool _stopping;

    public ParallelFlusher(int threads, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 2);
        _helpers = new Thread[threads - 1];
        for (var i = 0; i < _helpers.Length; i++)
        {
            _helpers[i] = new Thread(Help) { IsBackground = true, Name = $"{name} {i + 1}" };
            _helpers[i].Start();
        }
    }

    /// <summary>Runs <paramref name="action"/> on every job, on this thread and the helpers; returns when all are done.</summary>
    /// <remarks>One caller at a time. <paramref name="action"/> must not throw (handle failures per job).</remarks>
    public void Run(IReadOnlyList<T> jobs, Action<T> action)
    {
        var batch = new Batch(jobs, jobs.Count, action);
        lock (_gate)
        {
            _current = batch;
            _generation++;
            Monitor.PulseAll(_gate);
        }

        batch.Work();
        lock (_gate)
        {
            while (Volatile.Read(ref batch.Remaining) > 0)
            {
                Monitor.Wait(_gate);
            }

            _current = null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        foreach (var helper in _helpers)
        {
            helper.Join();
        }
    }

    private void Help()
    {
        long seen = 0;
        while (true)
        {
            Batch batch;
            lock (_gate)
            {
                while (!_stopping && (_current is null || _generation == seen))
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                seen = _generation;
                batch = _current!;
            }

            if (batch.Work())
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate); // this helper finished the batch's last job: wake the caller
                }
            }
        }
    }

    // One Run's jobs. A helper that is late keeps its own batch, whose counter is already past the end, so it never takes
    // a job of a later round (the caller may reuse its job list).
    private sealed class Batch(IReadOnlyList<T> jobs, int count, Action<T> action)
    {
        private readonly int _count = count;
        private int _next = -1;
        public int Remaining = count;

        // Takes jobs until none is left; true when the job this thread finished was the batch's last.
        public bool Work()
        {
            var finishedLast = false;
            int i;
            while ((i = Interlocked.Increment(ref _next)) < _count)
            {
                action(jobs[i]);
                finishedLast = Interlocked.Decrement(ref Remaining) == 0;
            }

            return finishedLast;
        }
    }
}
