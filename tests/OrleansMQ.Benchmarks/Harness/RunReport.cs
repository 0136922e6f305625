using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>The parts every run prints: its exact configuration and the warnings seen.</summary>
internal static class RunReport
{
    public static ResultTable Configuration(string command, BenchmarkSettings settings, BrokerUnderTest broker)
    {
        var table = new ResultTable($"{command}: configuration", "setting")
            .Add("arguments", string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(Redact)))
            .Add("storage", BrokerUnderTest.DescribeStorage(settings));
        if (broker.Azure is { } azure)
        {
            table.Add("storage account", azure.Describe())
                .Add("Azure names", $"AzureNamePrefix {azure.NamePrefix}: container {azure.ContainerName}, table {azure.TableName}");
        }

        var ports = string.Join(", ", broker.Ports.Select(p => $"{p.Silo}/{p.Gateway}"));
        return table
            .Add("data directory", $"{broker.DataDirectory} (deleted at the end{(settings.Silos > 1 && settings.Storage == StorageOption.File ? "; shared by all silos" : "")})")
            .Add("topology", settings.Silos == 1
                ? $"1 silo + 1 Orleans client in one process, client → gateway over 127.0.0.1 (silo port/gateway {ports})"
                : $"{settings.Silos} silos in one cluster (development clustering, the first is the primary) + 1 Orleans client connected to every gateway, one process, 127.0.0.1 (silo port/gateway {ports})")
            .Add("placement", settings.Placement == PlacementOption.Random
                ? "random (RandomPlacement as the silos' default strategy)"
                : "Orleans' default (resource-optimized; the broker's grains carry no placement attribute)")
            .Add("partitions", settings.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Add("message body", $"{settings.MessageSize} B, no key, no headers")
            .Add("producer options", $"linger {settings.Linger.TotalMilliseconds} ms, max batch {settings.MaxBatchMessages} msgs, {settings.MaxInFlightBatches} in flight per partition, idempotent")
            .Add("warm-up + measured", $"{settings.Warmup.TotalSeconds:0.#} s + {settings.Duration.TotalSeconds:0.#} s")
            .Add("silo instrumentation", settings.SiloStats ? "grain call filter + log append timer" : "off")
            .Add("machine", $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC{(Debugger.IsAttached ? ", DEBUGGER ATTACHED" : "")}{(IsOptimized() ? "" : ", DEBUG BUILD (use -c Release)")}");
    }

    public static void AddWarnings(ResultTable table, WarningLog warnings)
    {
        table.Add("warnings/errors logged", warnings.Total == 0
            ? "0"
            : $"{warnings.Total}: " + string.Join("; ", warnings.ByCategory.Take(4).Select(kv => $"{kv.Key} ×{kv.Value}")));
    }

    /// <summary>A connection string on the command line carries an account key: print only that one was given.</summary>
    private static string Redact(string argument) =>
        argument.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) || argument.Contains("SharedAccessSignature=", StringComparison.OrdinalIgnoreCase)
            ? "<connection string>"
            : argument;

    private static bool IsOptimized() =>
        typeof(RunReport).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];
}
