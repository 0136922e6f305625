using OrleansMQ.Faults.Nemesis;
using OrleansMQ.Testing.Processes;
using OrleansMQ.Tests.AzureStorage;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace OrleansMQ.Faults.Tests;

/// <summary>One Azurite for the cluster scenarios.</summary>
[CollectionDefinition(Name)]
public sealed class FaultsAzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "faults-azurite";
}

/// <summary>
/// Short runs of every fault scenario (the CI version; scripts/faults.sh runs long randomized ones): real silo-host
/// processes, the workload as its own process, the nemesis, then the history checker. Each asserts the checker found no
/// lost, unexpected, corrupt, duplicated (idempotent producer) or out-of-order message, and that the faults happened.
/// </summary>
public abstract class FaultScenarioTestBase(ITestOutputHelper log) : IDisposable
{
    private readonly TempDirectory _dir = new("faults");

    /// <summary>A fixed seed, printed with every result, so a failure can be replayed with scripts/faults.sh --seed.</summary>
    protected const int Seed = 20261126;

    protected async Task<ScenarioResult> RunAsync(string scenario, string? azure = null)
    {
        var result = await FaultScenario.Create(scenario).RunAsync(new FaultRunSettings
        {
            Seed = Seed,
            OutputDirectory = _dir.Path,
            Producers = 2,
            MessagesPerProducer = 400,
            Rate = 50,
            Partitions = 4,
            MaxFaults = 3,
            AzureConnectionString = azure,
            Log = Write,
        });
        Write(result.Describe());
        Assert.True(result.Passed, $"{scenario} (seed {Seed}) failed:\n{result.Describe()}");
        Assert.NotEmpty(result.Faults);
        Assert.All(result.Checks, c => Assert.True(c.Report.Acknowledged > 0, $"{c.Name}: nothing was acknowledged"));
        return result;
    }

    public void Dispose() => _dir.Dispose();

    private void Write(string line)
    {
        try
        {
            log.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // Output after the test finished (a late progress line): nowhere to write it.
        }
    }
}

public sealed class FileFaultTests(ITestOutputHelper log) : FaultScenarioTestBase(log)
{
    [Fact]
    public async Task No_acknowledged_message_is_lost_duplicated_or_reordered_when_the_embedded_silo_is_killed_during_publish_and_delivery()
    {
        var result = await RunAsync("file-kill");
        Assert.Contains(result.Faults, f => f.Contains("kill -9", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recovery_cuts_torn_tails_and_bit_flips_never_serves_corrupt_data_and_loses_only_the_destroyed_records()
    {
        var result = await RunAsync("file-corruption");
        Assert.Equal(2, result.Checks.Count);
        Assert.Empty(result.Checks[0].Report.LostToInjectedDiskFaults);
        Assert.Contains(result.Faults, f => f.Contains("torn-tail", StringComparison.Ordinal) || f.Contains("bit-flip", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_journal_writes_back_acknowledged_records_a_crash_and_disk_damage_took_from_the_segment_files()
    {
        var result = await RunAsync("journal-repair");
        Assert.Equal(2, result.Checks.Count);
        Assert.All(result.Checks, c => Assert.Empty(c.Report.LostToInjectedDiskFaults));
        Assert.Contains(result.Faults, f => f.Contains("torn-tail", StringComparison.Ordinal) || f.Contains("bit-flip", StringComparison.Ordinal));
        Assert.Contains(result.Notes, n => n.Contains("replayed", StringComparison.Ordinal) && n.Contains("recovery logged 0 tail cut(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Slow_failing_and_full_storage_fails_publishes_with_a_typed_error_loses_nothing_acknowledged_and_recovers()
    {
        var result = await RunAsync("storage-errors");
        Assert.Contains(result.Notes, n => n.Contains("failed with ErrorCode.StorageFull", StringComparison.Ordinal) && !n.StartsWith("0 ", StringComparison.Ordinal));
    }
}

[Collection(FaultsAzuriteCollection.Name)]
public sealed class ClusterFaultTests(AzuriteFixture azurite, ITestOutputHelper log) : FaultScenarioTestBase(log)
{
    [Fact]
    public async Task No_acknowledged_message_is_lost_when_clustered_silos_are_killed_and_others_take_over()
    {
        var result = await RunAsync("cluster-kill", azurite.ConnectionString);
        Assert.Contains(result.Faults, f => f.Contains("kill -9", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_paused_silo_declared_dead_is_fenced_and_writes_nothing_after_it_resumes()
    {
        var result = await RunAsync("cluster-pause", azurite.ConnectionString);
        Assert.Contains(result.Faults, f => f.Contains("SIGCONT", StringComparison.Ordinal));

        // RunAsync already asserted the checker found nothing lost, duplicated, unexpected or reordered. Whether the resumed
        // silo's stale activations get to try a write before Orleans stops the silo is a race (fenced attempts 0 or more,
        // reported in the run's notes), so fencing itself is proven deterministically at the storage level instead:
        // AzureMessageLogTests (stale writers and readers) and AzureClusterTests.A_partition_activation_whose_log_another_instance_took_over_….
    }

    [Fact]
    public async Task No_acknowledged_message_is_lost_while_silos_join_and_leave_under_load()
    {
        var result = await RunAsync("cluster-join-leave", azurite.ConnectionString);
        Assert.Contains(result.Faults, f => f.Contains("joined", StringComparison.Ordinal));
        Assert.Contains(result.Faults, f => f.Contains("left", StringComparison.Ordinal));
    }
}
