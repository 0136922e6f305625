using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using HdrHistogram;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>The parts every run prints: its exact configuration, the silo-side counters and the warnings seen.</summary>
internal static class RunReport
{
    public static ResultTable Configuration(string command, BenchmarkSettings settings, BrokerUnderTest broker) =>
        new ResultTable($"{command}: configuration", "setting")
            .Add("storage", BrokerUnderTest.DescribeStorage(settings))
            .Add("data directory", $"{broker.DataDirectory} (deleted at the end)")
            .Add("topology", $"1 silo + 1 Orleans client in one process, client → gateway over 127.0.0.1 (silo port {broker.SiloPort}, gateway {broker.GatewayPort})")
            .Add("partitions", settings.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Add("message body", $"{settings.MessageSize} B, no key, no headers")
            .Add("producer options", $"linger {settings.Linger.TotalMilliseconds} ms, max batch {settings.MaxBatchMessages} msgs, idempotent")
            .Add("warm-up + measured", $"{settings.Warmup.TotalSeconds:0.#} s + {settings.Duration.TotalSeconds:0.#} s")
            .Add("silo instrumentation", settings.SiloStats ? "grain call filter + log append timer" : "off")
            .Add("machine", $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC{(Debugger.IsAttached ? ", DEBUGGER ATTACHED" : "")}{(IsOptimized() ? "" : ", DEBUG BUILD (use -c Release)")}");

    /// <summary>Adds the silo-side counters (delta between two snapshots taken at the start and end of the measured window).</summary>
    public static void AddSiloStats(ResultTable table, BrokerUnderTest broker, Dictionary<string, (long Calls, long Ticks)> before, Dictionary<string, (long Calls, long Ticks)> after,
        (long Appends, long Records) logBefore, (long Appends, long Records) logAfter, TimeSpan window, HistogramBase? appendCallTime,
        HistogramBase? appendBatch, HistogramBase? logAppendTime)
    {
        if (broker.Calls is null)
        {
            table.Add("silo instrumentation", "off (--silo-stats false)");
            return;
        }

        var seconds = window.TotalSeconds;
        foreach (var (method, (calls, ticks)) in after
            .Select(kv => (kv.Key, (Calls: kv.Value.Calls - before.GetValueOrDefault(kv.Key).Calls, Ticks: kv.Value.Ticks - before.GetValueOrDefault(kv.Key).Ticks)))
            .Where(x => x.Item2.Calls > 0)
            .OrderByDescending(x => x.Item2.Calls)
            .Take(8))
        {
            var meanMs = ticks * 1000.0 / Stopwatch.Frequency / calls;
            table.Add($"grain calls: {method}", $"{ResultTable.Rate(calls / seconds)} (mean {meanMs:0.00} ms in the silo)");
        }

        if (appendBatch is { TotalCount: > 0 })
        {
            table.Add("messages per partition append call", $"mean {appendBatch.GetMean():0.0}, p50 {appendBatch.GetValueAtPercentile(50)}, p99 {appendBatch.GetValueAtPercentile(99)}, max {appendBatch.GetMaxValue()}");
        }

        if (appendCallTime is { TotalCount: > 0 })
        {
            table.Add("append call time in the silo", Latency.Summary(appendCallTime));
        }

        var appends = logAfter.Appends - logBefore.Appends;
        var records = logAfter.Records - logBefore.Records;
        if (appends > 0)
        {
            table.Add("log appends", $"{ResultTable.Rate(appends / seconds)}, {records / (double)appends:0.0} records each");
        }

        if (logAppendTime is { TotalCount: > 0 })
        {
            table.Add("log append → durable", Latency.Summary(logAppendTime));
        }
    }

    public static void AddWarnings(ResultTable table, WarningLog warnings)
    {
        table.Add("warnings/errors logged", warnings.Total == 0
            ? "0"
            : $"{warnings.Total}: " + string.Join("; ", warnings.ByCategory.Take(4).Select(kv => $"{kv.Key} ×{kv.Value}")));
    }

    private static bool IsOptimized() =>
        typeof(RunReport).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];
}
