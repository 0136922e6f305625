using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansMQ.Server.Telemetry;

/// <summary>
/// The broker's observable gauges on the <see cref="OrleansMQTelemetry.Meter"/>: partition backlog and subscription lag,
/// one series per active partition / subscription-partition grain in this process.
/// </summary>
internal static class BrokerGauges
{
    private static readonly ConcurrentDictionary<GaugeCell, byte> Backlogs = new();
    private static readonly ConcurrentDictionary<GaugeCell, byte> Lags = new();

    private static readonly ObservableGauge<long> PartitionBacklog = OrleansMQTelemetry.Meter.CreateObservableGauge(
        OrleansMQTelemetry.PartitionBacklogGauge, () => Backlogs.Keys.Select(c => c.Measure()), "{message}",
        "Messages in a partition not yet acknowledged by its slowest subscription");

    private static readonly ObservableGauge<long> SubscriptionLag = OrleansMQTelemetry.Meter.CreateObservableGauge(
        OrleansMQTelemetry.SubscriptionLagGauge, () => Lags.Keys.Select(c => c.Measure()), "{message}",
        "Messages a subscription has not acknowledged on a partition");

    /// <summary>Creates the gauges (a listener only sees instruments that exist).</summary>
    public static void EnsureCreated() => GC.KeepAlive((PartitionBacklog, SubscriptionLag));

    public static GaugeCell AddBacklog(string topic, int partition) =>
        Add(Backlogs, [new("topic", topic), new("partition", partition)]);

    public static GaugeCell AddLag(string topic, string subscription, int partition) =>
        Add(Lags, [new("topic", topic), new("subscription", subscription), new("partition", partition)]);

    public static void Remove(GaugeCell? cell)
    {
        if (cell is not null)
        {
            Backlogs.TryRemove(cell, out _);
            Lags.TryRemove(cell, out _);
        }
    }

    private static GaugeCell Add(ConcurrentDictionary<GaugeCell, byte> cells, KeyValuePair<string, object?>[] tags)
    {
        EnsureCreated();
        var cell = new GaugeCell(tags);
        cells.TryAdd(cell, 0);
        return cell;
    }
}
