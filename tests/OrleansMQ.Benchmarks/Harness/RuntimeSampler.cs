using System.Diagnostics;
using System.Runtime;
using HdrHistogram;
using OrleansMQ.Testing.Azure;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// Process-wide costs over the measured window: CPU time (silo and client share the process), GC counts and pauses,
/// allocation, thread-pool growth, and how long a work item waits in the thread-pool queue (probed every 20 ms from a
/// dedicated thread; long waits mean starved or blocked pool threads, which also stall grain turns).
/// </summary>
internal sealed class RuntimeSampler : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(20);

    private readonly Thread _prober;
    private readonly CancellationTokenSource _stop = new();
    private readonly HistogramBase _queueDelay = Latency.NewConcurrentHistogram();
    private readonly AzuriteProcess? _azurite;
    private Snapshot _begin;
    private Snapshot? _end;
    private volatile bool _measuring;
    private int _maxThreads;
    private long _maxQueued;

    /// <param name="azurite">An emulator the run started: its CPU is reported on its own row and not counted as foreign load.</param>
    public RuntimeSampler(AzuriteProcess? azurite = null)
    {
        _azurite = azurite;
        _prober = new Thread(ProbeLoop) { IsBackground = true, Name = "omq-bench thread-pool probe" };
        _prober.Start();
    }

    public void Begin()
    {
        _begin = Snapshot.Take(_azurite);
        _measuring = true;
    }

    public void End()
    {
        _measuring = false;
        _end = Snapshot.Take(_azurite);
    }

    public void AddTo(ResultTable table)
    {
        var end = _end ?? Snapshot.Take(_azurite);
        var wall = Stopwatch.GetElapsedTime(_begin.Timestamp, end.Timestamp);
        var cpu = end.Cpu - _begin.Cpu;
        var helper = end.HelperCpu - _begin.HelperCpu;
        table.Add("process CPU (silos + client)", $"{cpu.TotalSeconds / wall.TotalSeconds * 100:0}% of one core ({Environment.ProcessorCount} cores → {cpu.TotalSeconds / wall.TotalSeconds / Environment.ProcessorCount * 100:0}% of the machine)");
        if (_azurite is not null)
        {
            table.Add("Azurite CPU (its own process)", $"{helper.TotalSeconds / wall.TotalSeconds * 100:0}% of one core (node is mostly single-threaded: near 100% means the emulator is the bottleneck)");
        }

        if (end.MachineTotal > _begin.MachineTotal)
        {
            // Other processes on the machine (builds, tests) compete for the same cores and make the figures noisy.
            var machineBusy = 1 - (double)(end.MachineIdle - _begin.MachineIdle) / (end.MachineTotal - _begin.MachineTotal);
            var ours = (cpu + helper).TotalSeconds / wall.TotalSeconds / Environment.ProcessorCount;
            var others = Math.Max(0, machineBusy - ours);
            table.Add("machine CPU busy (all processes)", $"{machineBusy * 100:0}%, of which other processes{(_azurite is null ? "" : " (besides this one and Azurite)")} {others * 100:0}%{(others > 0.1 ? " ← NOISY: other load competed for the cores" : "")}");
        }

        table.Add("GC collections gen0/1/2", $"{end.Gen0 - _begin.Gen0}/{end.Gen1 - _begin.Gen1}/{end.Gen2 - _begin.Gen2} (pause {(end.Pause - _begin.Pause).TotalMilliseconds:0} ms = {(end.Pause - _begin.Pause) / wall * 100:0.0}% of wall time, {(GCSettings.IsServerGC ? "server" : "workstation")} GC)");
        table.Add("allocated", $"{(end.Allocated - _begin.Allocated) / wall.TotalSeconds / (1 << 20):N0} MiB/s");
        table.Add("thread-pool threads (max)", $"{_maxThreads}, queue length max {_maxQueued}, work items {ResultTable.Rate((end.WorkItems - _begin.WorkItems) / wall.TotalSeconds)}");
        table.Add("thread-pool queue delay (probe)", Latency.Summary(_queueDelay));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _prober.Join();
        _stop.Dispose();
    }

    private void ProbeLoop()
    {
        using var ran = new ManualResetEventSlim();
        while (!_stop.IsCancellationRequested)
        {
            ran.Reset();
            var queued = Stopwatch.GetTimestamp();
            var ranAt = 0L;
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                Volatile.Write(ref ranAt, Stopwatch.GetTimestamp());
                ran.Set();
            }, null);
            try
            {
                ran.Wait(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_measuring)
            {
                _queueDelay.Record(queued, Volatile.Read(ref ranAt));
                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
                _maxQueued = Math.Max(_maxQueued, ThreadPool.PendingWorkItemCount);
            }

            _stop.Token.WaitHandle.WaitOne(ProbeInterval);
        }
    }

    private readonly record struct Snapshot(long Timestamp, TimeSpan Cpu, TimeSpan HelperCpu, int Gen0, int Gen1, int Gen2, TimeSpan Pause, long Allocated, long WorkItems, long MachineIdle, long MachineTotal)
    {
        public static Snapshot Take(AzuriteProcess? azurite)
        {
            using var process = Process.GetCurrentProcess();
            var (idle, total) = MachineJiffies();
            return new Snapshot(Stopwatch.GetTimestamp(), process.TotalProcessorTime, azurite?.CpuTime() ?? TimeSpan.Zero, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
                GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(), ThreadPool.CompletedWorkItemCount, idle, total);
        }

        /// <summary>Idle (idle + iowait) and total CPU time of the whole machine from /proc/stat; zeros where there is none.</summary>
        private static (long Idle, long Total) MachineJiffies()
        {
            try
            {
                var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var values = fields.Skip(1).Take(8).Select(long.Parse).ToArray();
                return (values[3] + values[4], values.Sum());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return (0, 0);
            }
        }
    }
}
