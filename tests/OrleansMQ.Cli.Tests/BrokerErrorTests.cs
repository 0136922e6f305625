using OrleansMQ.Testing;

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
