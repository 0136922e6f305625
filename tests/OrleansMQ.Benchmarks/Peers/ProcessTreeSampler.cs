using System.Diagnostics;
using System.Globalization;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>
/// Samples a broker's CPU time and resident memory from <c>/proc</c> every 250 ms: the root process and all its
/// descendants (RabbitMQ's Erlang VM has helper children), plus the whole machine's CPU from <c>/proc/stat</c> so a
/// report can say how loaded the box was. Linux only; elsewhere every figure stays 0.
/// </summary>
internal sealed class ProcessTreeSampler : IAsyncDisposable
{
    private const double ClockTicksPerSecond = 100; // USER_HZ, 100 on every mainstream Linux build
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private static readonly long PageBytes = Environment.SystemPageSize;

    private readonly int _rootPid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private long _maxRssBytes;
    private long _lastRssBytes;

    public ProcessTreeSampler(int rootPid)
    {
        _rootPid = rootPid;
        _lastRssBytes = _maxRssBytes = RssBytes(rootPid);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>A CPU/machine snapshot to measure a window between two marks.</summary>
    public Mark Now() => new(Stopwatch.GetTimestamp(), CpuTicks(_rootPid), MachineJiffies());

    /// <summary>The largest RSS seen since the last <see cref="ResetMaxRss"/>.</summary>
    public long MaxRssBytes
    {
        get
        {
            lock (_lock)
            {
                return _maxRssBytes;
            }
        }
    }

    /// <summary>The RSS right now (process tree).</summary>
    public long CurrentRssBytes => RssBytes(_rootPid);

    public void ResetMaxRss()
    {
        lock (_lock)
        {
            _maxRssBytes = _lastRssBytes = RssBytes(_rootPid);
        }
    }

    /// <summary>Broker CPU between two marks, in percent of one core.</summary>
    public static double CpuPercent(Mark from, Mark to)
    {
        var seconds = Stopwatch.GetElapsedTime(from.Timestamp, to.Timestamp).TotalSeconds;
        return seconds <= 0 ? 0 : (to.CpuTicks - from.CpuTicks) / ClockTicksPerSecond / seconds * 100;
    }

    /// <summary>Whole-machine CPU busy between two marks, in percent of all cores.</summary>
    public static double MachineBusyPercent(Mark from, Mark to)
    {
        var total = to.Machine.Total - from.Machine.Total;
        var idle = to.Machine.Idle - from.Machine.Idle;
        return total <= 0 ? 0 : (total - idle) * 100.0 / total;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(Interval, _stop.Token);
            var rss = RssBytes(_rootPid);
            lock (_lock)
            {
                _lastRssBytes = rss;
                _maxRssBytes = Math.Max(_maxRssBytes, rss);
            }
        }
    }

    private static IEnumerable<int> Tree(int root)
    {
        // Parent → children from /proc/<pid>/stat; a walk per sample is cheap for a few hundred processes.
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in SafeEnumerate())
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && StatFields(pid) is { } f
                && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
        }

        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            yield return pid;
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                pending.Push(child);
            }
        }
    }

    private static IEnumerable<string> SafeEnumerate()
    {
        try
        {
            return Directory.GetDirectories("/proc");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The fields of /proc/pid/stat after the "(comm)" field: [0] state, [1] ppid, … [11] utime, [12] stime, [21] rss pages.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var close = text.LastIndexOf(')');
            return close < 0 ? null : text[(close + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long CpuTicks(int root) => Tree(root).Sum(pid => StatFields(pid) is { Length: > 12 } f
        ? long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)
        : 0);

    private static long RssBytes(int root) => Tree(root).Sum(pid => StatFields(pid) is { Length: > 21 } f
        ? long.Parse(f[21], CultureInfo.InvariantCulture) * PageBytes
        : 0);

    private static (long Idle, long Total) MachineJiffies()
    {
        try
        {
            var values = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
            return (values[3] + values[4], values.Sum());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (0, 0);
        }
    }

    /// <summary>A point in time with the broker's CPU ticks and the machine's jiffies.</summary>
    internal readonly record struct Mark(long Timestamp, long CpuTicks, (long Idle, long Total) Machine);
}
