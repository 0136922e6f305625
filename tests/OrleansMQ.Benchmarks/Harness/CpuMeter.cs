using System.Diagnostics;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// This process's CPU time and the whole machine's busy share (from <c>/proc/stat</c>) over a window, so a run on a
/// shared machine can report cost per message (CPU seconds, which other processes disturb less than throughput) and
/// how much of the machine other processes took.
/// </summary>
internal readonly record struct CpuMeter(long Timestamp, TimeSpan ProcessCpu, long MachineIdle, long MachineTotal)
{
    public static CpuMeter Take()
    {
        using var process = Process.GetCurrentProcess();
        var (idle, total) = MachineJiffies();
        return new CpuMeter(Stopwatch.GetTimestamp(), process.TotalProcessorTime, idle, total);
    }

    /// <summary>Wall time, this process's CPU time, and the share of the machine's CPU other processes used, from <paramref name="begin"/> to this.</summary>
    public (TimeSpan Wall, TimeSpan Cpu, double ForeignLoad) Since(CpuMeter begin)
    {
        var wall = Stopwatch.GetElapsedTime(begin.Timestamp, Timestamp);
        var cpu = ProcessCpu - begin.ProcessCpu;
        var foreign = 0.0;
        if (MachineTotal > begin.MachineTotal)
        {
            var machineBusy = 1 - (double)(MachineIdle - begin.MachineIdle) / (MachineTotal - begin.MachineTotal);
            foreign = Math.Max(0, machineBusy - (cpu.TotalSeconds / wall.TotalSeconds / Environment.ProcessorCount));
        }

        return (wall, cpu, foreign);
    }

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
