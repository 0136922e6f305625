using System.Diagnostics;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// The timeline of a run on the Stopwatch clock: warm-up from <see cref="Start"/>, then the measured window
/// [<see cref="MeasureFrom"/>, <see cref="MeasureUntil"/>). Events are attributed to the window by their own time stamps,
/// so nothing depends on when the ticker happens to wake up.
/// </summary>
internal sealed class MeasurementClock
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    public MeasurementClock(TimeSpan warmup, TimeSpan duration)
    {
        Start = Stopwatch.GetTimestamp();
        MeasureFrom = Latency.After(Start, warmup);
        MeasureUntil = Latency.After(MeasureFrom, duration);
        Window = duration;
    }

    public long Start { get; }

    public long MeasureFrom { get; }

    public long MeasureUntil { get; }

    public TimeSpan Window { get; }

    public bool InWindow(long timestamp) => timestamp >= MeasureFrom && timestamp < MeasureUntil;

    /// <summary>
    /// Runs until the end of the measured window: calls <paramref name="onBegin"/> at its start, <paramref name="onEnd"/> at
    /// its end, and <paramref name="onTick"/> about once a second with (seconds since start, whether the interval lies in the measured window, seconds since the last tick).
    /// </summary>
    public async Task RunAsync(Action onBegin, Action onEnd, Action<double, bool, double> onTick, CancellationToken cancellationToken)
    {
        var begun = false;
        var lastTick = Start;
        var nextTick = Latency.After(Start, TickInterval);
        while (true)
        {
            var target = Math.Min(nextTick, begun ? MeasureUntil : Math.Min(MeasureFrom, MeasureUntil));
            var now = Stopwatch.GetTimestamp();
            if (target > now)
            {
                await Task.Delay(Stopwatch.GetElapsedTime(now, target), cancellationToken);
                now = Stopwatch.GetTimestamp();
            }

            if (!begun && now >= MeasureFrom)
            {
                onBegin();
                begun = true;
            }

            if (now >= MeasureUntil)
            {
                onEnd();
                onTick(Stopwatch.GetElapsedTime(Start, now).TotalSeconds, lastTick >= MeasureFrom, Stopwatch.GetElapsedTime(lastTick, now).TotalSeconds);
                return;
            }

            if (now >= nextTick)
            {
                onTick(Stopwatch.GetElapsedTime(Start, now).TotalSeconds, lastTick >= MeasureFrom, Stopwatch.GetElapsedTime(lastTick, now).TotalSeconds);
                lastTick = now;
                nextTick = Latency.After(nextTick, TickInterval);
            }
        }
    }
}
