using ScottPlot;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>
/// PNG plots with ScottPlot: a throughput bar chart per max-rate workload (publish msg/s per driver; OrleansMQ red,
/// fsync-before-ack peers blue, relaxed rows grey; W5: drain rate) and an end-to-end latency percentile curve per
/// fixed-rate workload (relaxed rows dashed).
/// </summary>
internal static class ReportPlots
{
    private static readonly Color Strict = Color.FromHex("#1f77b4");
    private static readonly Color Relaxed = Color.FromHex("#aaaaaa");
    private static readonly Color OrleansMQ = Color.FromHex("#d62728");

    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<WorkloadResult> results)
    {
        var files = new List<string>();
        foreach (var workload in results.Where(r => r.Skipped is null).GroupBy(r => r.Workload))
        {
            var rows = workload.ToList();
            if (rows.All(r => r.ProducerRate == 0 && r.DrainRate is null))
            {
                files.Add(Throughput(directory, workload.Key, rows, r => r.PublishRate, "acknowledged publishes per second"));
            }
            else if (rows.Any(r => r.DrainRate is not null))
            {
                files.Add(Throughput(directory, workload.Key, rows, r => r.DrainRate ?? 0, "drained messages per second"));
            }

            if (rows.Any(r => r.EndToEndLatency is not null && r.ProducerRate > 0))
            {
                files.Add(LatencyCurves(directory, workload.Key, rows));
            }
        }

        return files;
    }

    private static string Throughput(string directory, string workload, List<WorkloadResult> rows, Func<WorkloadResult, double> value, string yLabel)
    {
        var plot = new Plot();
        var bars = rows.Select((r, i) => new Bar
        {
            Position = i,
            Value = value(r),
            FillColor = r.Driver == "OrleansMQ" ? OrleansMQ : r.FsyncBeforeAck ? Strict : Relaxed,
            Label = ReportWriter.Rate(value(r)),
        }).ToList();
        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 12;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < rows.Count; i++)
        {
            ticks.AddMajor(i, rows[i].Driver.Replace(" (", "\n(", StringComparison.Ordinal));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Margins(bottom: 0);
        plot.Title($"{workload}: {yLabel} (grey: no fsync before ack)");
        plot.YLabel(yLabel);
        var path = Path.Combine(directory, $"{workload}-throughput.png");
        plot.SavePng(path, 1100, 600);
        return path;
    }

    /// <summary>x: percentile on a "nines" scale (−log10(1 − p)); y: latency in ms on a log10 scale.</summary>
    private static string LatencyCurves(string directory, string workload, List<WorkloadResult> rows)
    {
        const double MaxX = 5; // where "max" is drawn, past 99.99 %
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var r in rows.Where(r => r.EndToEndLatency is not null))
        {
            var points = r.EndToEndLatency!.Curve.Where(p => p.Percentile >= 50).ToList();
            var xs = points.Select(p => p.Percentile >= 100 ? MaxX : -Math.Log10(1 - p.Percentile / 100)).ToArray();
            var ys = points.Select(p => Math.Log10(Math.Max(p.Ms, 0.01))).ToArray();
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.LegendText = r.Driver + (r.FsyncBeforeAck ? "" : " (no fsync)");
            // Category10's fourth colour is OrleansMQ's red: skip it for the peers.
            scatter.Color = r.Driver == "OrleansMQ" ? OrleansMQ : palette.GetColor(index == 3 ? ++index : index);
            index += r.Driver == "OrleansMQ" ? 0 : 1;
            scatter.LineWidth = r.Driver == "OrleansMQ" ? 3 : 2;
            if (!r.FsyncBeforeAck)
            {
                scatter.LinePattern = LinePattern.Dashed;
            }
        }

        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var (x, label) in new[] { (0.30103, "50%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (MaxX, "max") })
        {
            xTicks.AddMajor(x, label);
        }

        plot.Axes.Bottom.TickGenerator = xTicks;
        // Log scale: the data are log10(ms); label 1-2-5 steps in ms across the plotted range.
        var all = rows.Where(r => r.EndToEndLatency is not null).SelectMany(r => r.EndToEndLatency!.Curve).Where(p => p.Percentile >= 50).Select(p => Math.Max(p.Ms, 0.01)).ToList();
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (var decade = Math.Pow(10, Math.Floor(Math.Log10(all.Min()))); decade <= all.Max() * 10; decade *= 10)
        {
            foreach (var step in new[] { 1.0, 2, 5 })
            {
                var ms = decade * step;
                if (ms >= all.Min() / 2 && ms <= all.Max() * 2)
                {
                    yTicks.AddMajor(Math.Log10(ms), ms.ToString(ms >= 1 ? "N0" : "0.##", System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }

        plot.Axes.Left.TickGenerator = yTicks;
        plot.Title($"{workload}: end-to-end latency by percentile (from the intended send time)");
        plot.XLabel("percentile");
        plot.YLabel("ms (log scale)");
        plot.ShowLegend(Alignment.LowerRight);
        var path = Path.Combine(directory, $"{workload}-latency.png");
        plot.SavePng(path, 1100, 600);
        return path;
    }
}
