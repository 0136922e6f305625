using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Faults.Checking;
using OrleansMQ.Faults.History;
using OrleansMQ.Faults.Workload;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// One fault scenario: real silo-host processes, one or more workload runs, a nemesis driven by a seeded random schedule,
/// then the checker over the histories. Subclasses implement <see cref="ExecuteAsync"/>.
/// </summary>
public abstract class FaultScenario
{
    /// <summary>How long a workload run may take beyond its publishing time (retries, restarts, drain).</summary>
    protected static readonly TimeSpan WorkloadSlack = TimeSpan.FromMinutes(4);

    /// <summary>How long a workload may take to connect and get its first acknowledgements (a loaded machine is slow).</summary>
    protected static readonly TimeSpan WorkloadStartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<string> _faults = [];
    private readonly List<string> _notes = [];
    private readonly List<string> _problems = [];
    private readonly List<(string, CheckReport)> _checks = [];
    private readonly Stopwatch _clock = new();

    /// <summary>The scenario names <see cref="Create"/> knows, in the order the runner runs them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["file-kill", "file-corruption", "journal-repair", "storage-errors", "cluster-kill", "cluster-pause", "cluster-join-leave"];

    /// <summary>The name in reports.</summary>
    public abstract string Name { get; }

    /// <summary>Whether it needs <see cref="FaultRunSettings.AzureConnectionString"/>.</summary>
    public virtual bool NeedsAzure => false;

    /// <summary>The run's settings.</summary>
    protected FaultRunSettings Settings { get; private set; } = null!;

    /// <summary>Stale writes refused by log fencing that the scenario counted, when it counts them (cluster-pause).</summary>
    protected int? FencedAttempts { get; set; }

    /// <summary>The nemesis' random source, seeded with <see cref="FaultRunSettings.Seed"/>.</summary>
    protected Random Random { get; private set; } = null!;

    /// <summary>A scenario by name.</summary>
    public static FaultScenario Create(string name) => name switch
    {
        "file-kill" => new FileKillScenario(),
        "file-corruption" => new FileCorruptionScenario(journal: false),
        "journal-repair" => new FileCorruptionScenario(journal: true),
        "storage-errors" => new StorageErrorScenario(),
        "cluster-kill" => new ClusterKillScenario(),
        "cluster-pause" => new ClusterPauseScenario(),
        "cluster-join-leave" => new ClusterJoinLeaveScenario(),
        _ => throw new ArgumentException($"Unknown scenario '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>Runs the scenario and checks its histories.</summary>
    public async Task<ScenarioResult> RunAsync(FaultRunSettings settings)
    {
        Settings = settings with { OutputDirectory = Path.Combine(settings.OutputDirectory, Name) };
        Directory.CreateDirectory(Settings.OutputDirectory);
        Random = new Random(settings.Seed);
        _clock.Restart();
        Log($"{Name}: seed {settings.Seed}, {settings.Producers} producers x {settings.MessagesPerProducer} messages at {settings.Rate}/s, output in {Settings.OutputDirectory}");
        await ExecuteAsync();
        var result = new ScenarioResult(Name, settings.Seed, [.. _faults], [.. _checks], [.. _notes], _clock.Elapsed) { Problems = [.. _problems], FencedAttempts = FencedAttempts };
        await File.WriteAllTextAsync(Path.Combine(Settings.OutputDirectory, "report.md"), result.Describe());
        Log($"{Name}: {(result.Passed ? "PASSED" : "FAILED")} in {_clock.Elapsed.TotalSeconds:0} s");
        return result;
    }

    /// <summary>Starts the silos, runs the workload(s) under the nemesis and calls <see cref="Check"/>.</summary>
    protected abstract Task ExecuteAsync();

    /// <summary>A progress line, with the time since the start.</summary>
    protected void Log(string line) => Settings.Log(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:0.0} s] {line}"));

    /// <summary>Records (and logs) an injected fault.</summary>
    protected void Fault(string what)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds:0.0} s: {what}");
        _faults.Add(line);
        Log("nemesis: " + what);
    }

    /// <summary>Records a finding for the report.</summary>
    protected void Note(string what)
    {
        _notes.Add(what);
        Log("note: " + what);
    }

    /// <summary>Records a problem: the scenario fails.</summary>
    protected void Problem(string what)
    {
        _problems.Add(what);
        Log("PROBLEM: " + what);
    }

    /// <summary>Runs the checker and records its report.</summary>
    protected CheckReport Check(string name, IReadOnlyList<PublishRecord> publishes, IReadOnlyList<DeliveryRecord> deliveries, IReadOnlyCollection<string> subscriptions,
        IReadOnlyList<DiskFaultRecord>? diskFaults = null)
    {
        var report = HistoryChecker.Check(publishes, deliveries, diskFaults, duplicatesForbidden: true, subscriptions);
        _checks.Add((name, report));
        Log($"check {name}:\n{report.Describe()}");
        return report;
    }

    /// <summary>Checks one workload run on its own subscriptions.</summary>
    protected CheckReport Check(WorkloadProcess workload) =>
        Check(workload.RunId, workload.ReadPublishes(), workload.ReadDeliveries(), [.. workload.Subscriptions.Select(s => s.Name)]);

    /// <summary>
    /// After the faults: reads the whole topic from the earliest offset on a fresh Exclusive subscription ("final") and
    /// checks loss against that read (everything acknowledged must be stored), order and duplicates on every
    /// subscription, and reports what the run's live subscriptions had not delivered yet as a liveness finding.
    /// </summary>
    protected Task CheckWithFinalReadAsync(WorkloadProcess workload, IEnumerable<int> gateways, string topic) =>
        CheckWithFinalReadAsync([workload], gateways, topic);

    /// <summary>
    /// <see cref="CheckWithFinalReadAsync(WorkloadProcess, IEnumerable{int}, string)"/> for several workload runs on one
    /// topic: their histories are checked together (the final read holds the messages of all of them).
    /// </summary>
    protected async Task CheckWithFinalReadAsync(IReadOnlyList<WorkloadProcess> workloads, IEnumerable<int> gateways, string topic)
    {
        var name = string.Join(" + ", workloads.Select(w => w.RunId));
        await using var final = WorkloadProcess.Start(Settings with { Producers = 0 }, topic, workloads[0].RunId + "-final", gateways, [new("final", SubscriptionType.Exclusive, 1)]);
        await FinishAsync(final);
        Check($"{name} + final read", [.. workloads.SelectMany(w => w.ReadPublishes())], [.. workloads.SelectMany(w => w.ReadDeliveries()), .. final.ReadDeliveries()], ["final"]);
    }

    /// <summary>A fresh topic name for this scenario.</summary>
    protected string NewTopic() => $"{Name}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A uniformly random duration between the two bounds.</summary>
    protected TimeSpan Between(TimeSpan min, TimeSpan max) => min + (max - min) * Random.NextDouble();

    /// <summary>Waits for a workload run to end, failing the scenario (not throwing) when it does not exit cleanly.</summary>
    protected async Task FinishAsync(WorkloadProcess workload)
    {
        try
        {
            var exit = await workload.WaitAsync(Settings.PublishDuration + WorkloadSlack);
            Log($"workload {workload.RunId} exited {exit}: {workload.LastProgress}");
            await File.WriteAllTextAsync(Path.Combine(workload.Directory, "workload.log"), workload.Process.Output);
            if (exit != 0)
            {
                Problem($"workload {workload.RunId} exited with code {exit}:\n{workload.Process.Describe()}");
            }
        }
        catch (TimeoutException ex)
        {
            Problem($"workload {workload.RunId} did not finish: {ex.Message}");
        }
    }

    /// <summary>Writes the output of every generation of <paramref name="silo"/> to {name}.log in the scenario's folder.</summary>
    protected Task SaveAsync(SiloHostProcess silo, string name) =>
        File.WriteAllTextAsync(Path.Combine(Settings.OutputDirectory, name + ".log"), string.Join("\n", silo.Generations.Select(g => $"===== {g.Name} (pid {g.Id})\n{g.Output}")));

    /// <summary>Silo-host arguments for cluster mode on Azure Storage (Azurite), with quick failure detection.</summary>
    protected string[] ClusterArguments(string prefix) =>
    [
        .. SiloHostProcess.AzureClusterArguments(
            Settings.AzureConnectionString ?? throw new InvalidOperationException($"{Name} needs an Azure Storage connection string (Azurite)."), prefix),
        // Declare a silo dead after ~2 missed 2 s probes instead of Orleans' default ~3 x 5 s.
        "--Cluster:Membership:ProbeTimeout=00:00:02",
        "--Cluster:Membership:NumMissedProbesLimit=2",
        "--Cluster:Membership:IAmAliveTablePublishTimeout=00:00:05",
        "--Cluster:Membership:TableRefreshTimeout=00:00:02",
    ];

    /// <summary>Starts <paramref name="count"/> silo hosts in cluster mode (one at a time: the first creates the tables).</summary>
    protected async Task<List<SiloHostProcess>> StartClusterAsync(int count, string prefix)
    {
        var silos = new List<SiloHostProcess>();
        for (var i = 1; i <= count; i++)
        {
            silos.Add(await SiloHostProcess.StartAsync(Path.Combine(Settings.OutputDirectory, $"silo{i}"), SiloStorage.File, ClusterArguments(prefix)));
        }

        Log($"cluster of {count} silos up (gateways {string.Join(", ", silos.Select(s => s.GatewayPort))})");
        return silos;
    }

    /// <summary>Disposes silos, collecting failures into the report instead of throwing.</summary>
    protected async Task StopAllAsync(IEnumerable<SiloHostProcess> silos)
    {
        var i = 0;
        foreach (var silo in silos)
        {
            try
            {
                await SaveAsync(silo, $"silo{++i}");
                await silo.DisposeAsync();
            }
            catch (Exception ex)
            {
                Note($"could not stop a silo: {ex.Message}");
            }
        }
    }

    /// <summary>Workload subscriptions: one Exclusive and one KeyShared with two consumers (per-key order checked on both).</summary>
    protected static IReadOnlyList<SubscriptionPlan> StandardSubscriptions(string suffix = "") =>
        [new($"ex{suffix}", SubscriptionType.Exclusive, 1), new($"ks{suffix}", SubscriptionType.KeyShared, 2), new($"sh{suffix}", SubscriptionType.Shared, 2)];

    /// <summary>Counts the lines of all generations' output that contain <paramref name="text"/>.</summary>
    protected static int CountOutput(SiloHostProcess silo, string text) =>
        silo.Generations.Sum(g => g.Output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal)));
}
