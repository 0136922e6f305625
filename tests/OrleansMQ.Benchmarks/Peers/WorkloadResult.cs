using HdrHistogram;
using OrleansMQ.Benchmarks.Harness;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>Latency percentiles in milliseconds (null when nothing was recorded).</summary>
internal sealed record LatencySummary(long Count, double P50, double P99, double P999, double Max, double Mean, IReadOnlyList<PercentilePoint> Curve)
{
    /// <summary>Percentiles plotted in the latency curves.</summary>
    public static readonly double[] CurvePercentiles = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];

    public static LatencySummary? From(HistogramBase h) => h.TotalCount == 0
        ? null
        : new(h.TotalCount, Ms(h.GetValueAtPercentile(50)), Ms(h.GetValueAtPercentile(99)), Ms(h.GetValueAtPercentile(99.9)), Ms(h.GetMaxValue()), Math.Round(h.GetMean() / 1000, 3),
            [.. CurvePercentiles.Select(p => new PercentilePoint(p, Ms(p >= 100 ? h.GetMaxValue() : h.GetValueAtPercentile(p))))]);

    /// <summary>"p50 / p99 / p99.9 / max" in ms.</summary>
    public override string ToString() => $"{Latency.Ms(Us(P50))} / {Latency.Ms(Us(P99))} / {Latency.Ms(Us(P999))} / {Latency.Ms(Us(Max))}";

    private static double Ms(long micros) => micros / 1000.0;

    private static long Us(double ms) => (long)(ms * 1000);
}

/// <summary>One point of a latency percentile curve.</summary>
internal sealed record PercentilePoint(double Percentile, double Ms);

/// <summary>The outcome of one workload on one driver: everything report.json holds per row.</summary>
internal sealed record WorkloadResult
{
    public required string Driver { get; init; }

    public required string Workload { get; init; }

    public required string Durability { get; init; }

    public bool FsyncBeforeAck { get; init; }

    /// <summary>Why the row has no figures (server could not start, run failed); null when it ran.</summary>
    public string? Skipped { get; init; }

    /// <summary>Acknowledged publishes per second in the measured window.</summary>
    public double PublishRate { get; init; }

    public double PublishMBps { get; init; }

    /// <summary>Deliveries per second in the measured window (over all subscriptions).</summary>
    public double ConsumeRate { get; init; }

    /// <summary>Fixed rate: intended send time → ack (coordinated-omission corrected); max rate: send → ack.</summary>
    public LatencySummary? PublishLatency { get; init; }

    /// <summary>Fixed rate: intended send time → delivery; max rate: send → delivery.</summary>
    public LatencySummary? EndToEndLatency { get; init; }

    public long Sent { get; init; }

    public long Delivered { get; init; }

    /// <summary>In-window messages × subscriptions that were not delivered within the drain timeout after the window.</summary>
    public long Missing { get; init; }

    public long PublishErrors { get; init; }

    public string? FirstError { get; init; }

    /// <summary>W5: publish rate while building the backlog, and the consumer's drain rate.</summary>
    public double? BacklogPublishRate { get; init; }

    public double? DrainRate { get; init; }

    public double? DrainSeconds { get; init; }

    /// <summary>W6: nacks sent, redelivery latency (nack → redelivery), and deliveries of already acked messages.</summary>
    public long? Nacks { get; init; }

    public LatencySummary? RedeliveryLatency { get; init; }

    public long? Duplicates { get; init; }

    /// <summary>Broker process tree CPU over the measured phase, percent of one core.</summary>
    public double BrokerCpuPercent { get; init; }

    public double BrokerRssMaxMB { get; init; }

    /// <summary>RSS growth from before the topics were created to after topics and consumers were set up, per topic (KiB).</summary>
    public double RssPerTopicKiB { get; init; }

    /// <summary>Whole-machine CPU busy over the measured phase (this harness, the broker and everyone else).</summary>
    public double MachineBusyPercent { get; init; }

    /// <summary>This harness's own CPU (clients, producers, consumers) over the measured phase, percent of one core.</summary>
    public double HarnessCpuPercent { get; init; }

    /// <summary>What other processes took over the measured phase, percent of the machine: busy − (broker + harness).</summary>
    public double ForeignLoadPercent { get; init; }

    public int Topics { get; init; }

    public int MessageSize { get; init; }

    public int ProducerRate { get; init; }

    public double MeasuredSeconds { get; init; }
}
