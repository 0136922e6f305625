using System.Diagnostics;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Cli.Tests;

/// <summary>Failures that need no broker: usage errors and an unreachable gateway.</summary>
public sealed class ConnectionAndUsageTests(ITestOutputHelper log)
{
    [Fact]
    public async Task No_broker_on_the_port_exits_6_within_the_connect_timeout()
    {
        var port = LoopbackPorts.Reserve(1)[0];
        var omq = new Omq(port, log);

        var clock = Stopwatch.StartNew();
        var result = await omq.RunAsync("topic", "list", "--connect-timeout", "2s");

        result.Failed(6, $"error: cannot connect to the broker at 127.0.0.1:{port}");
        // 2 s of retrying plus process start-up; far below Orleans' own defaults.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"omq should give up soon after its 2 s connect timeout, took {clock.Elapsed}.\n{result.Description}");
    }

    [Fact]
    public async Task Usage_errors_exit_2_before_connecting()
    {
        // Port 1 has no broker: a usage error must be reported as such, not as a connection failure.
        var omq = new Omq(1, log);
        var results = await Task.WhenAll(
            omq.RunAsync("topic", "create"),
            omq.RunAsync("topic", "create", "t", "--retention-age", "7x"),
            omq.RunAsync("sub", "create", "t", "s", "--type", "roundrobin"),
            omq.RunAsync("publish", "t", "--header", "no-equals-sign", "m"),
            omq.RunAsync("frobnicate"));

        foreach (var result in results)
        {
            result.Failed(2, "error: ");
        }

        var help = await omq.RunAsync("--help");
        Assert.True(help.ExitCode == 0 && help.Stdout.Any(l => l.Contains("topic", StringComparison.Ordinal)), help.Description);
    }
}
