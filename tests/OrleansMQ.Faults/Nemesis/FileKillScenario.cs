using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Embedded mode (one silo, file log and state): kill -9 the silo at random moments while producers publish and consumers
/// (Exclusive, KeyShared, Shared) receive, and restart it on the same data after a random pause. The workload retries
/// through the outages; every acknowledged message must reach every subscription, none twice in the log, per-key order kept.
/// </summary>
internal sealed class FileKillScenario : FaultScenario
{
    public override string Name => "file-kill";

    protected override async Task ExecuteAsync()
    {
        await using var silo = await SiloHostProcess.StartAsync(Path.Combine(Settings.OutputDirectory, "data"), SiloStorage.File);
        var topic = NewTopic();
        await using var workload = WorkloadProcess.Start(Settings, topic, "run1", [silo.GatewayPort], StandardSubscriptions());
        await workload.WaitForAcksAsync(100, WorkloadStartTimeout);
        var kills = 0;
        while (!workload.Process.HasExited)
        {
            // Publishing lasts PublishDuration; spread kills over it (at least one lands while consumers are receiving).
            await Task.Delay(Between(Settings.PublishDuration / 6, Settings.PublishDuration / 3));
            if (workload.Process.HasExited || kills >= Settings.MaxFaults || (workload.PublishingDone && kills >= 2))
            {
                break;
            }

            await silo.KillAsync();
            kills++;
            Fault($"kill -9 silo (pid {silo.Current.Id}) during {(workload.PublishingDone ? "delivery" : "publish + delivery")}; workload at {workload.LastProgress}");
            await Task.Delay(Between(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)));
            await silo.RestartAsync();
            Log($"silo restarted in {silo.LastStartDuration.TotalSeconds:0.0} s");
        }

        await FinishAsync(workload);
        await SaveAsync(silo, "silo");
        Check(workload);
    }
}
