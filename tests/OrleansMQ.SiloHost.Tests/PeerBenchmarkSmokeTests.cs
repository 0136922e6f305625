using System.Text.Json;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>
/// Keeps the peer benchmark working: runs the real harness (<c>OrleansMQ.Benchmarks peers --mode smoke</c>, a child
/// process) against a real silo-host process and against RabbitMQ, Redis and NATS, which the harness starts itself on
/// loopback (scripts/test.sh installs them from Debian packages). Asserts on what the report says, never on speed.
/// </summary>
public sealed class PeerBenchmarkSmokeTests(ITestOutputHelper log)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);

    /// <summary>Each server's program; the smoke run must have run every server whose program is installed.</summary>
    private static readonly Dictionary<string, string> Programs = new()
    {
        ["RabbitMQ"] = "/usr/lib/rabbitmq/bin/rabbitmq-server",
        ["Redis"] = "/usr/bin/redis-server",
        ["NATS"] = "/usr/sbin/nats-server",
    };

    [Fact]
    public async Task Smoke_run_writes_a_report_with_real_figures_for_OrleansMQ_and_every_installed_peer()
    {
        using var output = new TempDirectory("peers-smoke");
        var harness = BuildOutputs.Find(Path.Combine("tests", "OrleansMQ.Benchmarks"), "OrleansMQ.Benchmarks.dll");

        await using var run = ChildProcess.Start("peers --mode smoke", harness, ["peers", "--mode", "smoke", "--out", output.Path]);
        var exitCode = await run.WaitForExitAsync(RunTimeout);
        log.WriteLine(run.Output);

        Assert.True(exitCode == 0, $"The harness should exit 0.\n{run.Describe()}");
        foreach (var file in new[] { "report.md", "report.json", "W1-fixed-rate-100B-latency.png", "W2-max-throughput-100B-throughput.png" })
        {
            Assert.True(File.Exists(output.File(file)) && new FileInfo(output.File(file)).Length > 0, $"{file} should be written and not empty.\n{run.Describe()}");
        }

        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(output.File("report.json")));
        var servers = report.RootElement.GetProperty("meta").GetProperty("servers").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s);
        Assert.True(servers.TryGetValue("OrleansMQ", out var orleansMQ) && !orleansMQ.TryGetProperty("skipped", out _), $"OrleansMQ should have run.\n{run.Describe()}");
        foreach (var (name, program) in Programs)
        {
            var ran = servers.Where(s => s.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(s => s.Value).ToList();
            Assert.True(ran.Count == 1, $"{name} should be listed among the servers.");
            if (File.Exists(program))
            {
                Assert.False(ran[0].TryGetProperty("skipped", out var why), $"{name} is installed ({program}) and should have run, but was skipped: {why}\n{run.Describe()}");
            }
            else
            {
                log.WriteLine($"{name} is not installed ({program}); the report says: {ran[0].GetProperty("skipped")}");
            }
        }

        var rows = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        var expectedDrivers = new[] { "OrleansMQ", "RabbitMQ quorum", "Redis Streams (appendfsync always)", "NATS JetStream" }
            .Where(d => d == "OrleansMQ" || File.Exists(Programs[d.Split(' ')[0]]));
        foreach (var driver in expectedDrivers)
        {
            foreach (var workload in new[] { "W1-fixed-rate-100B", "W2-max-throughput-100B" })
            {
                var row = rows.SingleOrDefault(r => r.GetProperty("driver").GetString() == driver && r.GetProperty("workload").GetString() == workload);
                Assert.True(row.ValueKind == JsonValueKind.Object, $"report.json should have a {driver} × {workload} row.");
                var what = $"{driver} × {workload}: {row}";
                Assert.False(row.TryGetProperty("skipped", out _), what);
                Assert.True(row.GetProperty("publishRate").GetDouble() > 0, $"publish rate > 0: {what}");
                Assert.True(row.GetProperty("consumeRate").GetDouble() > 0, $"consume rate > 0: {what}");
                Assert.True(row.GetProperty("sent").GetInt64() > 0 && row.GetProperty("delivered").GetInt64() > 0, $"sent and delivered > 0: {what}");
                Assert.Equal(0, row.GetProperty("publishErrors").GetInt64());
                Assert.Equal(0, row.GetProperty("missing").GetInt64());
                foreach (var latency in new[] { "publishLatency", "endToEndLatency" })
                {
                    var summary = row.GetProperty(latency);
                    var (p50, p99, max) = (summary.GetProperty("p50").GetDouble(), summary.GetProperty("p99").GetDouble(), summary.GetProperty("max").GetDouble());
                    Assert.True(summary.GetProperty("count").GetInt64() > 0 && p50 > 0 && p50 <= p99 && p99 <= max, $"{latency}: 0 < p50 ≤ p99 ≤ max: {what}");
                }

                Assert.True(row.GetProperty("brokerRssMaxMB").GetDouble() > 0, $"the broker's RSS was sampled: {what}");
                Assert.False(string.IsNullOrWhiteSpace(row.GetProperty("durability").GetString()), $"the durability is stated: {what}");
            }

            // The max-rate run keeps the broker busy: its CPU time must have been sampled from /proc.
            var busy = rows.Single(r => r.GetProperty("driver").GetString() == driver && r.GetProperty("workload").GetString() == "W2-max-throughput-100B");
            Assert.True(busy.GetProperty("brokerCpuPercent").GetDouble() > 0, $"broker CPU sampled: {busy}");
        }

        var markdown = await File.ReadAllTextAsync(output.File("report.md"));
        Assert.Contains("## W1-fixed-rate-100B", markdown, StringComparison.Ordinal);
        Assert.Contains("| OrleansMQ | yes |", markdown, StringComparison.Ordinal);
    }
}
