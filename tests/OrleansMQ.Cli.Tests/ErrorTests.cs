using System.Diagnostics;
using OrleansMQ.Testing;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Cli.Tests;

/// <summary>Broker errors become "error: Code: message" on stderr and distinct exit codes.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BrokerErrorTests(SiloHostFixture broker, ITestOutputHelper log)
{
    private readonly Omq _omq = new(broker.Silo.GatewayPort, log, broker.Silo.Describe);

    [Fact]
    public async Task Unknown_topic_exits_3_with_NotFound_on_stderr()
    {
        var missing = TestNames.Unique("missing");
        var results = await Task.WhenAll(
            _omq.RunAsync("topic", "describe", missing),
            _omq.RunAsync("publish", missing, "into the void"),
            _omq.RunAsync("sub", "describe", missing, "nobody"));

        foreach (var result in results)
        {
            result.Failed(3, "error: NotFound: ");
        }
    }

    [Fact]
    public async Task Invalid_names_and_values_exit_4()
    {
        var results = await Task.WhenAll(
            _omq.RunAsync("topic", "create", "no spaces allowed"),
            _omq.RunAsync("topic", "create", TestNames.Unique("parts"), "--partitions", "0"));

        results[0].Failed(4, "error: InvalidName: ");
        results[1].Failed(4, "error: InvalidArgument: ");
    }
}

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
