using System.Diagnostics;
using System.Globalization;
using OrleansMQ.SiloHost.Tests.Processes;
using OrleansMQ.Testing.Processes;
using OrleansMQ.Tests.AzureStorage;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>
/// Cluster mode with real processes: three silo hosts with Azure Table membership and Azure Storage log and state (a
/// real Azurite), a producer connected to all three gateways, and SIGKILL of one silo in the middle of the run.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ClusterKillTests(AzuriteFixture azurite, ITestOutputHelper log) : IDisposable
{
    private const int AcksBeforeKill = 500;
    private const int AcksAfterKill = 500;
    private readonly TempDirectory _dir = new("cluster-kill");

    [Fact]
    public async Task Acknowledged_publishes_survive_kill_9_of_one_of_three_clustered_silos()
    {
        var prefix = $"k{Guid.NewGuid():N}"[..16];
        var clusterArguments = SiloHostProcess.AzureClusterArguments(azurite.ConnectionString, prefix);
        var silos = await Task.WhenAll(Enumerable.Range(1, 3).Select(i => SiloHostProcess.StartAsync(_dir.File($"silo{i}"), SiloStorage.File, clusterArguments)));
        try
        {
            var gateways = silos.Select(s => s.GatewayPort.ToString(CultureInfo.InvariantCulture)).ToArray();
            var topic = $"cluster-kill-{prefix}";
            await using var publisher = SampleClient.Start("publish", silos[0].GatewayPort, [.. gateways[1..], "--topic", topic, "--count", "100000", "--partitions", "6"]);
            await WaitForAcksAsync(publisher, AcksBeforeKill, silos);
            await silos[1].KillAsync();
            var atKill = publisher.CountStdoutLines(Ack.IsAckLine);
            log.WriteLine($"killed silo 2 after {atKill} acknowledgements");

            // The cluster notices the dead silo, its partitions re-activate elsewhere and reopen their logs from Azure.
            await WaitForAcksAsync(publisher, atKill + AcksAfterKill, silos, TimeSpan.FromSeconds(90));
            await publisher.KillAsync();
            var acks = Ack.Parse(publisher.StdoutLines);
            var failed = publisher.CountStdoutLines(l => l.StartsWith("FAIL ", StringComparison.Ordinal));
            log.WriteLine($"{acks.Count} acknowledged, {failed} failed back to the producer");

            await silos[1].RestartAsync();
            await using var verify = await SampleClient.VerifyAsync(silos[0].GatewayPort, topic, acks, _dir.File("acked.txt"));
            log.WriteLine(string.Join('\n', verify.StdoutLines.Where(l => l.StartsWith("verify", StringComparison.Ordinal) || l.StartsWith("missing", StringComparison.Ordinal))));
            Assert.True(verify.ExitCode == 0, $"acknowledged messages were lost after kill -9 of a clustered silo.\n{verify.Describe()}\n{silos[1].Describe()}");
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task WaitForAcksAsync(ChildProcess publisher, int count, SiloHostProcess[] silos, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (publisher.CountStdoutLines(Ack.IsAckLine) < count)
        {
            if (publisher.HasExited || clock.Elapsed > (timeout ?? SampleClient.RunTimeout))
            {
                throw new InvalidOperationException($"The publisher did not reach {count} acknowledgements.\n{publisher.Describe()}\n{string.Join('\n', silos.Select(s => s.Describe()))}");
            }

            await Task.Delay(20);
        }
    }

    public void Dispose() => _dir.Dispose();
}
