using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Cluster mode, membership churn under load: the cluster starts with two silos; the nemesis adds a silo, then asks a
/// random silo to leave (SIGTERM: graceful shutdown, grains hand over), and repeats, keeping at least two up. The client
/// knows every gateway (static list) and fails over between them.
/// </summary>
internal sealed class ClusterJoinLeaveScenario : FaultScenario
{
    public override string Name => "cluster-join-leave";

    public override bool NeedsAzure => true;

    protected override async Task ExecuteAsync()
    {
        var prefix = $"cj{Guid.NewGuid():N}"[..12];
        var silos = await StartClusterAsync(2, prefix);
        // The third silo's ports are reserved now so the client can list its gateway from the start.
        var spare = await SiloHostProcess.StartAsync(Path.Combine(Settings.OutputDirectory, "silo3"), SiloStorage.File, ClusterArguments(prefix));
        await spare.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        var all = new List<SiloHostProcess>(silos) { spare };
        try
        {
            var topic = NewTopic();
            await using var workload = WorkloadProcess.Start(Settings, topic, "run1", all.Select(s => s.GatewayPort), StandardSubscriptions());
            await workload.WaitForAcksAsync(100, WorkloadStartTimeout);
            var changes = 0;
            while (!workload.Process.HasExited)
            {
                // The first leave follows the first join at once: on a fast machine the short CI workload can end before
                // a second pause, and a run must see a join and a leave under load.
                if (changes != 1)
                {
                    await Task.Delay(Between(Settings.PublishDuration / 6, Settings.PublishDuration / 3));
                }

                if (workload.Process.HasExited || changes >= Settings.MaxFaults || (workload.PublishingDone && changes >= 2))
                {
                    break;
                }

                var down = all.Where(s => s.Current.HasExited).ToList();
                var up = all.Where(s => !s.Current.HasExited).ToList();
                if (down.Count > 0 && changes != 1 && (up.Count <= 2 || Random.Next(2) == 0))
                {
                    var joiner = down[Random.Next(down.Count)];
                    await joiner.RestartAsync();
                    Fault($"silo on gateway {joiner.GatewayPort} joined (up in {joiner.LastStartDuration.TotalSeconds:0.0} s); workload at {workload.LastProgress}");
                }
                else
                {
                    var leaver = up[Random.Next(up.Count)];
                    var graceful = await leaver.StopGracefullyAsync(TimeSpan.FromSeconds(60));
                    Fault($"silo on gateway {leaver.GatewayPort} left ({(graceful ? "graceful shutdown" : "did not stop within 60 s: killed")}); workload at {workload.LastProgress}");
                }

                changes++;
            }

            await FinishAsync(workload);
            await CheckWithFinalReadAsync(workload, all.Select(s => s.GatewayPort), topic);
        }
        finally
        {
            await StopAllAsync(all);
        }
    }
}
