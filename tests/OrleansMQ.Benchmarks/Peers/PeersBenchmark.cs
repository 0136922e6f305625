using System.Diagnostics;
using OrleansMQ.Benchmarks.Peers.Servers;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>What the <c>peers</c> command runs and where it writes the report.</summary>
internal sealed record PeersSettings
{
    public RunMode Mode { get; init; } = RunMode.Quick;

    /// <summary>Workload name prefixes (e.g. <c>W1</c>, <c>W2-max-throughput-100B</c>); empty = the mode's default set.</summary>
    public IReadOnlyList<string> Workloads { get; init; } = [];

    /// <summary>Servers to run: <c>orleansmq</c>, <c>rabbitmq</c>, <c>redis</c>, <c>nats</c>.</summary>
    public IReadOnlyList<string> Servers { get; init; } = AllServers;

    public string OutputDirectory { get; init; } = "peers-report";

    /// <summary>A note for the report's header (e.g. "machine shared with other builds").</summary>
    public string? Note { get; init; }

    public static readonly IReadOnlyList<string> AllServers = ["orleansmq", "rabbitmq", "redis", "nats"];
}

/// <summary>One server's outcome for the report: what ran, or why it did not.</summary>
internal sealed record ServerInfo(string Name, string Version, string Description, string? Skipped, double StartSeconds);

/// <summary>
/// The <c>peers</c> command: starts each broker in turn as a child process of this harness (loopback, free ports, a
/// temporary data directory), runs the selected workloads against each of its driver variants, stops it by PID and
/// writes <c>report.md</c>, <c>report.json</c> and PNG plots.
/// </summary>
internal static class PeersBenchmark
{
    /// <summary>The default workloads of <c>--mode quick</c> (the 1 KiB variants, W3 and W4 only in full runs or when named).</summary>
    public static readonly IReadOnlyList<string> QuickSet = ["W1-fixed-rate-100B", "W2-max-throughput-100B", "W5", "W6"];

    /// <summary>The default of <c>--mode smoke</c> (CI): a fixed-rate run and a max-rate one.</summary>
    public static readonly IReadOnlyList<string> SmokeSet = ["W1-fixed-rate-100B", "W2-max-throughput-100B"];

    public static async Task<int> RunAsync(PeersSettings settings, CancellationToken cancellationToken)
    {
        var all = Workload.LoadAll(Path.Combine(AppContext.BaseDirectory, "Peers", "workloads"));
        var filters = settings.Workloads.Count > 0 ? settings.Workloads : settings.Mode switch
        {
            RunMode.Quick => QuickSet,
            RunMode.Smoke => SmokeSet,
            _ => [],
        };
        var workloads = all.Where(w => filters.Count == 0 || filters.Any(f => w.Name.StartsWith(f, StringComparison.OrdinalIgnoreCase)))
            .Select(w => w.ForMode(settings.Mode)).ToList();
        if (workloads.Count == 0)
        {
            await Console.Error.WriteLineAsync($"error: no workload matches {string.Join(", ", filters)}; there are {string.Join(", ", all.Select(w => w.Name))}.");
            return 2;
        }

        var unknown = settings.Servers.Except(PeersSettings.AllServers, StringComparer.OrdinalIgnoreCase).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"error: unknown server(s) {string.Join(", ", unknown)}; choose from {string.Join(", ", PeersSettings.AllServers)}.");
            return 2;
        }

        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"peers: mode {settings.Mode.ToString().ToLowerInvariant()}, workloads {string.Join(", ", workloads.Select(w => w.Name))}; servers {string.Join(", ", settings.Servers)}; report in {Path.GetFullPath(settings.OutputDirectory)}");
        var limits = RunLimits.For(settings.Mode);
        var results = new List<WorkloadResult>();
        var servers = new List<ServerInfo>();
        var names = PeersSettings.AllServers.Where(n => settings.Servers.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
        // Measuring runs start each server only when its turn comes, so idle servers cannot disturb the others. A smoke
        // run measures nothing worth comparing and starts them all at once (RabbitMQ alone takes 10-30 s to boot).
        var starting = new Dictionary<string, Task<PeerServer>>();
        if (settings.Mode == RunMode.Smoke)
        {
            Console.WriteLine($"\n== starting {string.Join(", ", names)} at once (smoke) ...");
            foreach (var name in names)
            {
                starting[name] = StartAsync(name, cancellationToken);
            }
        }

        foreach (var name in names)
        {
            var startClock = Stopwatch.StartNew();
            PeerServer server;
            try
            {
                Console.WriteLine($"\n== {name}: starting ...");
                server = await (starting.GetValueOrDefault(name) ?? StartAsync(name, cancellationToken));
            }
            catch (PeerUnavailableException ex)
            {
                var reason = ex.Message.Split('\n')[0];
                Console.WriteLine($"== {name}: SKIPPED: {reason}");
                if (ex.Message.Contains('\n', StringComparison.Ordinal))
                {
                    Console.WriteLine(ex.Message);
                }

                servers.Add(new ServerInfo(name, "-", "-", reason, startClock.Elapsed.TotalSeconds));
                continue;
            }

            await using (server)
            {
                var startSeconds = Math.Round(startClock.Elapsed.TotalSeconds, 1);
                Console.WriteLine($"== {server.Describe()} (started in {startSeconds:0.0} s)");
                servers.Add(new ServerInfo(server.Name, server.Version, server.Describe(), null, startSeconds));
                // Smoke: the first (strict) driver of each server only; the relaxed rows use the same client code.
                foreach (var variant in settings.Mode == RunMode.Smoke ? server.Variants.Take(1) : server.Variants)
                {
                    foreach (var workload in workloads)
                    {
                        results.Add(await RunOneAsync(server, variant, workload, limits, cancellationToken));
                    }
                }
            }
        }

        var meta = ReportMetadata.Collect(settings, started, clock.Elapsed, servers, Environment.CommandLine);
        var files = ReportWriter.Write(settings.OutputDirectory, meta, results);
        Console.WriteLine($"\npeers: done in {clock.Elapsed.TotalSeconds:0} s; wrote {string.Join(", ", files.Select(Path.GetFileName))} to {Path.GetFullPath(settings.OutputDirectory)}");
        return results.Count > 0 && results.Any(r => r.Skipped is null) ? 0 : 1;
    }

    private static async Task<PeerServer> StartAsync(string name, CancellationToken cancellationToken) => name.ToLowerInvariant() switch
    {
        "orleansmq" => await OrleansMQServer.StartAsync(cancellationToken),
        "rabbitmq" => await RabbitMQServer.StartAsync(cancellationToken),
        "redis" => await RedisServer.StartAsync(cancellationToken),
        "nats" => await NatsServer.StartAsync(cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown server"),
    };

    internal static async Task<WorkloadResult> RunOneAsync(PeerServer server, DriverVariant variant, Workload workload, RunLimits limits, CancellationToken cancellationToken)
    {
        Console.WriteLine($"-- {variant.Name} × {workload.Name}: {workload.Description}");
        // Generous cap for one run: its own time plus every bounded wait, and a minute for setup on a loaded machine.
        var cap = TimeSpan.FromSeconds(workload.WarmupSeconds + workload.DurationSeconds + 60) + 4 * limits.Drain + 2 * limits.BacklogPhase;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(cap);
        var clock = Stopwatch.StartNew();
        try
        {
            await using var driver = await variant.ConnectAsync(timeout.Token);
            var result = await WorkloadRunner.RunAsync(driver, server.Sampler, workload, limits, Console.Out, timeout.Token);
            Console.WriteLine($"   {ReportWriter.OneLine(result)} [{clock.Elapsed.TotalSeconds:0.0} s]");
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = ex is OperationCanceledException ? $"did not finish within {cap.TotalSeconds:0} s" : $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}";
            Console.WriteLine($"   FAILED: {reason}");
            Console.Error.WriteLine(ex);
            return new WorkloadResult { Driver = variant.Name, Workload = workload.Name, Durability = "-", Skipped = $"run failed: {reason}", Topics = workload.Topics, MessageSize = workload.MessageSize, ProducerRate = workload.ProducerRate };
        }
    }
}
