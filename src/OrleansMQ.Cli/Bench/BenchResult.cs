namespace OrleansMQ.Load;

/// <summary>The figures of one <c>omq bench</c> run (latencies in milliseconds).</summary>
internal sealed record BenchResult(
    string Topic,
    int Partitions,
    int Messages,
    int Size,
    int TargetRate,
    long Published,
    long Consumed,
    long PublishFailed,
    double Seconds,
    double PublishRate,
    double ConsumeRate,
    LatencyView PublishLatency,
    LatencyView EndToEndLatency);

/// <summary>Percentiles of a latency histogram in milliseconds (null when nothing was recorded).</summary>
internal sealed record LatencyView(long Count, double? P50, double? P90, double? P99, double? P999, double? Max, double? Mean);
