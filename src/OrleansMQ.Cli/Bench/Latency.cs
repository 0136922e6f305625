using System.Diagnostics;
using HdrHistogram;

namespace OrleansMQ.Load;

/// <summary>
/// Shared by <c>omq bench</c> and tests/OrleansMQ.Benchmarks (which compiles this file in too).
/// Latency histograms in microseconds (1 µs – 60 s, 3 significant digits) and Stopwatch conversions.</summary>
internal static class Latency
{
    public const long MaxMicros = 60_000_000;

    private static readonly double MicrosPerTick = 1_000_000.0 / Stopwatch.Frequency;

    /// <summary>A histogram many threads may record into at once.</summary>
    public static HistogramBase NewConcurrentHistogram() =>
        HistogramFactory.With64BitBucketSize().WithValuesFrom(1).WithValuesUpTo(MaxMicros).WithPrecisionOf(3).WithThreadSafeWrites().Create();

    /// <summary>A recorder many threads may record into while another takes interval snapshots.</summary>
    public static Recorder NewRecorder() =>
        HistogramFactory.With64BitBucketSize().WithValuesFrom(1).WithValuesUpTo(MaxMicros).WithPrecisionOf(3).WithThreadSafeWrites().WithThreadSafeReads().Create();

    /// <summary>Microseconds between two <see cref="Stopwatch.GetTimestamp"/> values, clamped to the histogram range.</summary>
    public static long Micros(long fromTimestamp, long toTimestamp) =>
        Math.Clamp((long)((toTimestamp - fromTimestamp) * MicrosPerTick), 1, MaxMicros);

    /// <summary>Records the time between two time stamps.</summary>
    public static void Record(this HistogramBase histogram, long fromTimestamp, long toTimestamp) =>
        histogram.RecordValue(Micros(fromTimestamp, toTimestamp));

    /// <summary>Records the time between two time stamps.</summary>
    public static void Record(this Recorder recorder, long fromTimestamp, long toTimestamp) =>
        recorder.RecordValue(Micros(fromTimestamp, toTimestamp));

    /// <summary>A Stopwatch time stamp <paramref name="span"/> after <paramref name="timestamp"/>.</summary>
    public static long After(long timestamp, TimeSpan span) => timestamp + (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>"p50 1.23 · p99 4.56 · p99.9 7.89 · max 12.3 ms", or "-" when empty.</summary>
    public static string Summary(HistogramBase h) => h.TotalCount == 0
        ? "-"
        : $"p50 {Ms(h.GetValueAtPercentile(50))} · p99 {Ms(h.GetValueAtPercentile(99))} · p99.9 {Ms(h.GetValueAtPercentile(99.9))} · max {Ms(h.GetMaxValue())} ms";

    /// <summary>Microseconds as milliseconds with a precision that suits the size.</summary>
    public static string Ms(long micros) => micros switch
    {
        < 10_000 => (micros / 1000.0).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
        < 100_000 => (micros / 1000.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
        _ => (micros / 1000.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Mean in milliseconds.</summary>
    public static string MeanMs(HistogramBase h) => h.TotalCount == 0 ? "-" : Ms((long)h.GetMean());
}
