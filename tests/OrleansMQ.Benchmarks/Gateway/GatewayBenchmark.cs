using System.Diagnostics;
using OrleansMQ.Benchmarks.Peers;
using OrleansMQ.Benchmarks.Peers.Drivers;
using OrleansMQ.Benchmarks.Peers.Servers;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Gateway;

/// <summary>What the <c>gateway</c> command runs.</summary>
internal sealed record GatewaySettings
{
    /// <summary>Measured seconds per run (after the warm-up).</summary>
    public double DurationSeconds { get; init; } = 5;

    public double WarmupSeconds { get; init; } = 2;

    /// <summary>Messages per second of the fixed-rate (latency) runs.</summary>
    public int Rate { get; init; } = 2_000;
}

/// <summary>
/// The <c>gateway</c> command: gateway overhead, measured. One silo-host process (the peers benchmark's
/// <see cref="OrleansMQServer"/>: file log, Fsync=Always) is reached three ways in turn — the .NET client library, the
/// REST API (<see cref="HttpGatewayDriver"/>) and STOMP 1.2 over TCP (<see cref="StompGatewayDriver"/>) — each running
/// the peers workloads W2 (max durable publish throughput, 100 B, 4 producers) and W1 at a fixed rate (100 B,
/// end-to-end latency from the intended send time, HdrHistogram) with <see cref="WorkloadRunner"/>.
/// </summary>
internal static class GatewayBenchmark
{
    public static async Task<int> RunAsync(GatewaySettings settings, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Peers", "workloads");
        var maxRate = Workload.Load(Path.Combine(directory, "W2-max-throughput-100B.json")) with
        {
            WarmupSeconds = settings.WarmupSeconds,
            DurationSeconds = settings.DurationSeconds,
        };
        var fixedRate = Workload.Load(Path.Combine(directory, "W1-fixed-rate-100B.json")) with
        {
            Name = $"W1-fixed-rate-{settings.Rate}-100B",
            Description = $"Fixed rate {settings.Rate:N0} msg/s, 100 B: publish and end-to-end latency (from the intended send time)",
            ProducerRate = settings.Rate,
            WarmupSeconds = settings.WarmupSeconds,
            DurationSeconds = settings.DurationSeconds,
        };
        var limits = RunLimits.For(RunMode.Quick);
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"gateway: {maxRate.Name} and {fixedRate.Name}, {settings.WarmupSeconds:0.#} s warm-up + {settings.DurationSeconds:0.#} s each, against one silo-host process");

        OrleansMQServer server;
        try
        {
            server = await OrleansMQServer.StartAsync(cancellationToken);
        }
        catch (PeerUnavailableException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }

        var results = new List<WorkloadResult>();
        string[] names = [".NET client", "HTTP REST", "STOMP/TCP", "STOMP/TCP, receipt per SEND"];
        await using (server)
        {
            foreach (var port in new[] { server.HttpPort, server.StompPort })
            {
                var deadline = Stopwatch.StartNew();
                while (!await LoopbackPorts.AcceptsConnectionsAsync(port))
                {
                    if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        await Console.Error.WriteLineAsync($"error: the gateway port {port} did not accept connections within 60 s.");
                        return 2;
                    }

                    await Task.Delay(200, cancellationToken);
                }
            }

            Console.WriteLine($"== {server.Describe()}, HTTP port {server.HttpPort}, STOMP port {server.StompPort}");
            var setup = new OrleansMQDriver(server.Client);
            DriverVariant[] variants =
            [
                new(names[0], _ => Task.FromResult<IBenchmarkDriver>(setup)),
                new(names[1], _ => Task.FromResult<IBenchmarkDriver>(new HttpGatewayDriver(server.HttpPort, setup))),
                new(names[2], _ => Task.FromResult<IBenchmarkDriver>(new StompGatewayDriver(server.StompPort, setup, receiptPerSend: false))),
                new(names[3], _ => Task.FromResult<IBenchmarkDriver>(new StompGatewayDriver(server.StompPort, setup, receiptPerSend: true))),
            ];
            // A discarded pass first: every path (client, Kestrel, STOMP listener, silo grains) is JIT-compiled and warm
            // before anything is measured, so the first row does not pay for the silo's start.
            Console.WriteLine("-- warm-up pass (discarded): each client, max rate, 1 s");
            var warm = maxRate with { Name = "warm-up", WarmupSeconds = 0, DurationSeconds = 1 };
            foreach (var variant in variants.Take(3))
            {
                await PeersBenchmark.RunOneAsync(server, variant, warm, limits, cancellationToken);
            }

            foreach (var variant in variants)
            {
                foreach (var workload in new[] { maxRate, fixedRate })
                {
                    results.Add(await PeersBenchmark.RunOneAsync(server, variant, workload, limits, cancellationToken));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| client | max publish msg/s (100 B, durable) | publish p50 / p99 at max (ms) | e2e p50 / p99 at {settings.Rate:N0} msg/s (ms) | publish p99 at {settings.Rate:N0} msg/s (ms) | broker CPU at max |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < names.Length && (2 * i) + 1 < results.Count; i++)
        {
            // Results come in run order: per variant, the max-rate run then the fixed-rate run.
            var (name, max, paced) = (names[i], results[2 * i], results[(2 * i) + 1]);
            Console.WriteLine($"| {name} | {Cell(max, r => $"{r.PublishRate:N0}")} | {Cell(max, r => Pair(r.PublishLatency))} " +
                $"| {Cell(paced, r => Pair(r.EndToEndLatency))} | {Cell(paced, r => r.PublishLatency is { } l ? $"{l.P99:0.0}" : "-")} | {Cell(max, r => $"{r.BrokerCpuPercent:0}%")} |");
        }

        var problems = results.Where(r => r.Skipped is not null || r.Missing > 0 || r.PublishErrors > 0).ToList();
        foreach (var r in problems)
        {
            Console.WriteLine($"note: {r.Driver} × {r.Workload}: {ReportWriter.OneLine(r)}");
        }

        Console.WriteLine($"\ngateway: done in {clock.Elapsed.TotalSeconds:0} s on {Environment.ProcessorCount} cores");
        return results.All(r => r.Skipped is null) ? 0 : 1;
    }

    private static string Cell(WorkloadResult r, Func<WorkloadResult, string> value) => r.Skipped is null ? value(r) : "failed";

    private static string Pair(LatencySummary? latency) => latency is null ? "-" : $"{latency.P50:0.0} / {latency.P99:0.0}";
}
