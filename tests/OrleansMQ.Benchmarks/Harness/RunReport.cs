using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>The parts every run prints: its exact configuration and the warnings seen.</summary>
internal static class RunReport
{
    public static ResultTable Configuration(string command, BenchmarkSettings settings, BrokerUnderTest broker) =>
        new ResultTable($"{command}: configuration", "setting")
            .Add("arguments", string.Join(' ', Environment.GetCommandLineArgs().Skip(1)))
            .Add("storage", BrokerUnderTest.DescribeStorage(settings))
            .Add("data directory", $"{broker.DataDirectory} (deleted at the end)")
            .Add("topology", $"1 silo + 1 Orleans client in one process, client → gateway over 127.0.0.1 (silo port {broker.SiloPort}, gateway {broker.GatewayPort})")
            .Add("partitions", settings.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Add("message body", $"{settings.MessageSize} B, no key, no headers")
            .Add("producer options", $"linger {settings.Linger.TotalMilliseconds} ms, max batch {settings.MaxBatchMessages} msgs, idempotent")
            .Add("warm-up + measured", $"{settings.Warmup.TotalSeconds:0.#} s + {settings.Duration.TotalSeconds:0.#} s")
            .Add("silo instrumentation", settings.SiloStats ? "grain call filter + log append timer" : "off")
            .Add("machine", $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC{(Debugger.IsAttached ? ", DEBUGGER ATTACHED" : "")}{(IsOptimized() ? "" : ", DEBUG BUILD (use -c Release)")}");

    public static void AddWarnings(ResultTable table, WarningLog warnings)
    {
        table.Add("warnings/errors logged", warnings.Total == 0
            ? "0"
            : $"{warnings.Total}: " + string.Join("; ", warnings.ByCategory.Take(4).Select(kv => $"{kv.Key} ×{kv.Value}")));
    }

    private static bool IsOptimized() =>
        typeof(RunReport).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];
}
