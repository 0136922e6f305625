namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Cluster mode (three silo hosts, Azure Table membership, Azure Storage log and state on Azurite): kill -9 a random silo
/// during publishing and delivery; the others take over its partitions and subscriptions (re-activating them from
/// Azure); after a random pause the killed silo restarts and rejoins.
/// </summary>
internal sealed class ClusterKillScenario : FaultScenario
{
    public override string Name => "cluster-kill";

    public override bool NeedsAzure => true;

    protected override async Task ExecuteAsync()
    {
        var silos = await StartClusterAsync(3, $"ck{Guid.NewGuid():N}"[..12]);
        try
        {
            var topic = NewTopic();
            await using var workload = WorkloadProcess.Start(Settings, topic, "run1", silos.Select(s => s.GatewayPort), StandardSubscriptions());
            await workload.WaitForAcksAsync(100, WorkloadStartTimeout);
            var kills = 0;
            while (!workload.Process.HasExited)
            {
                await Task.Delay(Between(Settings.PublishDuration / 5, Settings.PublishDuration / 2));
                if (workload.Process.HasExited || kills >= Settings.MaxFaults || (workload.PublishingDone && kills >= 2))
                {
                    break;
                }

                var victim = silos[Random.Next(silos.Count)];
                await victim.KillAsync();
                kills++;
                Fault($"kill -9 silo on gateway {victim.GatewayPort} during {(workload.PublishingDone ? "delivery" : "publish + delivery")}; workload at {workload.LastProgress}");
                await Task.Delay(Between(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8)));
                await victim.RestartAsync();
                Log($"silo on gateway {victim.GatewayPort} restarted in {victim.LastStartDuration.TotalSeconds:0.0} s");
            }

            await FinishAsync(workload);
            await CheckWithFinalReadAsync(workload, silos.Select(s => s.GatewayPort), topic);
        }
        finally
        {
            await StopAllAsync(silos);
        }
    }
}
