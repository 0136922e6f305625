using OrleansMQ.Faults.History;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Embedded mode, disk faults while the silo is down: run 1 publishes and is fully consumed; the silo is killed; the
/// nemesis tears the tail of, or flips one bit in, one of the last records of each partition's last segment (seeded
/// choice); the silo restarts. Recovery must cut the damaged records (and log that it did, once per damaged partition)
/// and never serve a damaged byte. The records the nemesis destroyed are an injected disk fault, not a broker bug: the
/// checker is told exactly which offsets they were and reports them apart from "lost". Run 2 then publishes more and
/// reads the whole topic on new subscriptions: everything acknowledged, minus exactly the destroyed records, must be there.
/// This runs with the file log's journal off (<c>OrleansMQ:FileLogJournal=false</c>): with it on, the journal would
/// repair the damage.
/// </summary>
/// <remarks>
/// <c>journal-repair</c> is the same with the journal on (the default): the silo is killed before any checkpoint, so the
/// journal still holds every acknowledged byte, and its replay at restart must write the damaged records back. There
/// nothing may be missing (no record counts as destroyed), recovery must cut nothing, and the silo must log the replay.
/// </remarks>
internal sealed class FileCorruptionScenario(bool journal) : FaultScenario
{
    private const string TailCutLog = "cut the torn or invalid tail";
    private static readonly System.Text.RegularExpressions.Regex ReplayLog = new(@"file log journal replayed: (\d+) entries", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public override string Name => journal ? "journal-repair" : "file-corruption";

    protected override async Task ExecuteAsync()
    {
        var data = Path.Combine(Settings.OutputDirectory, "data");
        await using var silo = await SiloHostProcess.StartAsync(data, SiloStorage.File, $"--OrleansMQ:FileLogJournal={(journal ? "true" : "false")}");
        var topic = NewTopic();

        await using var run1 = WorkloadProcess.Start(Settings, topic, "run1", [silo.GatewayPort], [new("ex", SubscriptionType.Exclusive, 1)]);
        await FinishAsync(run1);
        Check(run1);

        await silo.KillAsync();
        var faults = new List<DiskFaultRecord>();
        for (var partition = 0; partition < Settings.Partitions; partition++)
        {
            var kind = Random.Next(2) == 0 ? "torn-tail" : "bit-flip";
            // The silo host keeps the file log under <DataDirectory>/log.
            var fault = SegmentCorruptor.Corrupt(Path.Combine(data, "log"), topic, partition, kind, Random, lastRecords: 20, run1.Producers(Settings.Producers));
            if (fault is not null)
            {
                faults.Add(fault);
                Fault($"{kind} in partition {partition}: byte {fault.Position} of {Path.GetFileName(fault.File)}, destroying offsets from {fault.FromOffset}");
            }
        }

        var cutsBefore = CountOutput(silo, TailCutLog);
        await silo.RestartAsync();
        Log($"silo restarted in {silo.LastStartDuration.TotalSeconds:0.0} s");

        // Run 2's new subscriptions start at the earliest offset: they read what recovery kept of run 1, then run 2.
        await using var run2 = WorkloadProcess.Start(Settings, topic, "run2", [silo.GatewayPort], [new("after-ex", SubscriptionType.Exclusive, 1), new("after-ks", SubscriptionType.KeyShared, 2)]);
        await FinishAsync(run2);
        var report = Check("run1+run2 after the disk faults", [.. run1.ReadPublishes(), .. run2.ReadPublishes()], run2.ReadDeliveries(), ["after-ex", "after-ks"], journal ? [] : faults);
        var cuts = CountOutput(silo, TailCutLog) - cutsBefore;
        if (journal)
        {
            var replayed = silo.Generations.Skip(1).SelectMany(g => ReplayLog.Matches(g.Output)).Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            Note($"the restarted silo replayed {replayed} journal entries; recovery logged {cuts} tail cut(s) for {faults.Count} damaged partition(s)");
            await SaveAsync(silo, "silo");
            if (replayed == 0)
            {
                Problem($"the restarted silo did not log a journal replay with entries.\n{silo.Describe()}");
            }

            if (cuts > 0 || faults.Count == 0)
            {
                Problem($"{cuts} tail cut(s) after the replay (expected none: the journal rewrites the damaged records); {faults.Count} partitions damaged.\n{silo.Describe()}");
            }

            return;
        }

        // Recovery opens a partition log on first use; run 2 used them all, so each damaged one must have reported its cut.
        Note($"recovery logged {cuts} tail cut(s) for {faults.Count} damaged partition(s); {report.LostToInjectedDiskFaults.Count} acknowledged deliveries (over 2 subscriptions) missing exactly at the destroyed offsets");
        await SaveAsync(silo, "silo");
        if (faults.Count == 0)
        {
            Problem($"the nemesis found no segment files to damage under {data}");
        }

        if (cuts < faults.Count)
        {
            Problem($"recovery reported {cuts} tail cut(s), but {faults.Count} partitions were damaged.\n{silo.Describe()}");
        }
    }
}
