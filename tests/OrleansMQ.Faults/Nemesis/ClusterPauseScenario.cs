using System.Globalization;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Cluster mode: SIGSTOP a silo for longer than failure detection (probes every 2 s, dead after 2 misses: the scenario
/// shortens Orleans' membership timeouts), so the cluster declares it dead and re-activates its partitions elsewhere;
/// then SIGCONT. The resumed silo still holds the old activations: their log instances must be fenced (conditional
/// appends on the append position; the new owner's fence frame moved it) and write nothing.
/// </summary>
/// <remarks>
/// To make the stale activations really try to write, a second ("pressure") workload connected only through the OTHER
/// silos starts publishing just before the pause and keeps publishing through it, on a topic with at least
/// <see cref="MinPartitions"/> partitions (so the victim owns some). Its requests to the victim's partitions sent before
/// the cluster declared the victim dead wait in the victim's sockets; the retried ones re-activate the partitions on
/// the live silos, whose logs write a fence frame on open. A third ("pinned") workload publishes through the victim's
/// gateway alone, so requests for the victim's partitions certainly wait in its sockets. When the victim resumes it runs the waiting requests: each
/// stale partition log's conditional append fails and logs "was fenced off" (<c>AzureLogEvents.Fenced</c>, event 3122),
/// once per stale log instance. The scenario counts those lines in the resumed silo's output (fenced attempts) and
/// reports them; the checker proves none of the refused writes landed (no loss, duplicate, unexpected or order violation
/// against a final read of the whole topic). The count is not required to be positive: the resumed silo races its stale
/// activations' requests against learning it was declared dead (Orleans then stops it), and it often stops first
/// (0 attempts in most runs). Fencing itself is proven deterministically by the storage tests.
/// </remarks>
internal sealed class ClusterPauseScenario : FaultScenario
{
    /// <summary>The text of <c>AzureLogEvents.Fenced</c> (event 3122): a stale log instance's append was refused.</summary>
    internal const string FencedLog = "was fenced off";

    /// <summary>Topic partitions at least (with 3 silos the chance the victim owns none is (2/3)^12, under 1 %).</summary>
    private const int MinPartitions = 12;

    /// <summary>Producers of the pressure workload (each keeps one batch in flight per partition).</summary>
    private const int PressureProducers = 4;

    /// <summary>Producers connected to the victim's gateway only.</summary>
    private const int PinnedProducers = 2;

    /// <summary>Keys per pressure producer: enough that every partition, so every partition the victim owns, gets publishes.</summary>
    private const int PressureKeys = 4 * MinPartitions;

    private static readonly TimeSpan MinPause = TimeSpan.FromSeconds(16);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(24);

    public override string Name => "cluster-pause";

    public override bool NeedsAzure => true;

    protected override async Task ExecuteAsync()
    {
        var settings = Settings with { Partitions = Math.Max(Settings.Partitions, MinPartitions) };
        var silos = await StartClusterAsync(3, $"cp{Guid.NewGuid():N}"[..12]);
        var pressures = new List<WorkloadProcess>();
        var fencedAttempts = 0;
        try
        {
            var topic = NewTopic();
            await using var workload = WorkloadProcess.Start(settings, topic, "run1", silos.Select(s => s.GatewayPort), StandardSubscriptions());
            await workload.WaitForAcksAsync(100, WorkloadStartTimeout);
            var pauses = 0;
            while (!workload.Process.HasExited)
            {
                await Task.Delay(Between(Settings.PublishDuration / 6, Settings.PublishDuration / 3));
                if (workload.Process.HasExited || pauses >= Settings.MaxFaults || (workload.PublishingDone && pauses >= 1))
                {
                    break;
                }

                var victim = silos[Random.Next(silos.Count)];
                var pause = Between(MinPause, MaxPause);

                // Publishes through the other silos that span the pause and the takeover (rate x (pause + 20 s) each).
                var pressureRate = Math.Max(20, Settings.Rate);
                var pressure = WorkloadProcess.Start(
                    settings with { Producers = PressureProducers, Keys = PressureKeys, Rate = pressureRate, MessagesPerProducer = (int)(pressureRate * (pause.TotalSeconds + 20)) },
                    topic, $"pressure{pauses + 1}", silos.Where(s => s != victim).Select(s => s.GatewayPort), []);
                pressures.Add(pressure);
                await pressure.WaitForAcksAsync(20, WorkloadStartTimeout);

                // And publishes through the victim alone: sent while it is stopped, they wait in its gateway's socket, so
                // the resumed silo runs them on its stale activations before it learns it was declared dead. That makes
                // the stale appends certain instead of depending on what the other silos' connections still hold.
                var pinned = WorkloadProcess.Start(
                    settings with { Producers = PinnedProducers, Keys = PressureKeys, Rate = pressureRate, MessagesPerProducer = (int)(pressureRate * (pause.TotalSeconds + 20)) },
                    topic, $"pinned{pauses + 1}", [victim.GatewayPort], []);
                pressures.Add(pinned);
                await pinned.WaitForAcksAsync(20, WorkloadStartTimeout);

                var before = CountLines(victim.Current.Output, FencedLog);
                await victim.PauseAsync();
                pauses++;
                Fault($"SIGSTOP silo on gateway {victim.GatewayPort} for {pause.TotalSeconds:0.0} s (failure detection ~4-6 s) while {PressureProducers} producers publish through the other silos and {PinnedProducers} through it alone; workload at {workload.LastProgress}");
                await Task.Delay(pause);
                await victim.ResumeAsync();
                Fault($"SIGCONT silo on gateway {victim.GatewayPort}");

                // The resumed silo runs the requests that waited for it (the stale appends), then learns it was declared
                // dead and shuts down. Give it time for both before stopping it and starting a fresh one on its ports.
                var exited = await WaitForExitAsync(victim, TimeSpan.FromSeconds(30));
                var stopped = exited || await victim.StopGracefullyAsync(TimeSpan.FromSeconds(30));
                var fenced = CountLines(victim.Current.Output, FencedLog) - before;
                fencedAttempts += fenced;
                Log($"resumed silo {(exited ? "shut itself down" : stopped ? "stopped on SIGTERM" : "had to be killed")}; it logged '{FencedLog}' {fenced} time(s)");
                await victim.RestartAsync();
            }

            await FinishAsync(workload);
            foreach (var pressure in pressures)
            {
                await FinishAsync(pressure);
            }

            await CheckWithFinalReadAsync([workload, .. pressures], silos.Select(s => s.GatewayPort), topic);
            FencedAttempts = fencedAttempts;
            Note(string.Create(CultureInfo.InvariantCulture,
                $"fenced attempts: {fencedAttempts} (stale partition logs on the resumed silo whose append was refused: '{FencedLog}'); across all silos and generations the line appears {silos.Sum(s => CountOutput(s, FencedLog))} time(s)"));
        }
        finally
        {
            foreach (var pressure in pressures)
            {
                await pressure.DisposeAsync();
            }

            await StopAllAsync(silos);
        }
    }

    private static async Task<bool> WaitForExitAsync(Testing.Processes.SiloHostProcess silo, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!silo.Current.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        return silo.Current.HasExited;
    }

    private static int CountLines(string output, string text) => output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));
}
