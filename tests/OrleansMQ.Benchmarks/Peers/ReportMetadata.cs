using System.Runtime.InteropServices;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>Where and how a report was made: date, machine, runtime, client library versions, servers, command.</summary>
internal sealed record ReportMetadata
{
    public required string Mode { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }

    public required double ElapsedSeconds { get; init; }

    public required string Machine { get; init; }

    public required string Runtime { get; init; }

    public required IReadOnlyDictionary<string, string> Clients { get; init; }

    public required IReadOnlyList<ServerInfo> Servers { get; init; }

    public required string Command { get; init; }

    public string? Note { get; init; }

    public static ReportMetadata Collect(PeersSettings settings, DateTimeOffset started, TimeSpan elapsed, IReadOnlyList<ServerInfo> servers, string command) => new()
    {
        Mode = settings.Mode.ToString().ToLowerInvariant(),
        StartedUtc = started,
        ElapsedSeconds = Math.Round(elapsed.TotalSeconds),
        Machine = $"{Environment.ProcessorCount} cores ({CpuModel()}), {MemoryGiB()} GiB RAM, {RuntimeInformation.OSDescription}",
        Runtime = $".NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC in the harness",
        Clients = new Dictionary<string, string>
        {
            ["OrleansMQ.Client"] = Version(typeof(OrleansMQ.Client.IOrleansMQClient)),
            ["RabbitMQ.Client"] = Version(typeof(RabbitMQ.Client.ConnectionFactory)),
            ["StackExchange.Redis"] = Version(typeof(StackExchange.Redis.ConnectionMultiplexer)),
            ["NATS.Net"] = Version(typeof(NATS.Client.Core.NatsConnection)),
            ["HdrHistogram"] = Version(typeof(HdrHistogram.HistogramBase)),
        },
        Servers = servers,
        Command = command,
        Note = settings.Note,
    };

    private static string Version(Type type)
    {
        var assembly = type.Assembly;
        var informational = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        return informational?.Split('+')[0].Trim() ?? assembly.GetName().Version?.ToString() ?? "?";
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string MemoryGiB()
    {
        try
        {
            var kib = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return (long.Parse(kib, System.Globalization.CultureInfo.InvariantCulture) / 1024.0 / 1024).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException)
        {
            return "?";
        }
    }
}
