namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Cluster mode: SIGSTOP a silo for longer than failure detection (probes every 2 s, dead after 2 misses: the scenario
/// shortens Orleans' membership timeouts), so the cluster declares it dead and re-activates its partitions elsewhere;
/// then SIGCONT. The resumed silo still holds the old activations: their log instances must be fenced (ETag / append
/// position on Azure) and write nothing. The checker catches any write they slip through (duplicates, order, unexpected).
/// The silo learns it was declared dead and stops; the nemesis starts it again.
/// </summary>
internal sealed class ClusterPauseScenario : FaultScenario
{
    private const string FencedLog = "was fenced off";

    public override string Name => "cluster-pause";

    public override bool NeedsAzure => true;

    protected override async Task ExecuteAsync()
    {
        var silos = await StartClusterAsync(3, $"cp{Guid.NewGuid():N}"[..12]);
        try
        {
            var topic = NewTopic();
            await using var workload = WorkloadProcess.Start(Settings, topic, "run1", silos.Select(s => s.GatewayPort), StandardSubscriptions());
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
                var pause = Between(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(20));
                await victim.PauseAsync();
                pauses++;
                Fault($"SIGSTOP silo on gateway {victim.GatewayPort} for {pause.TotalSeconds:0.0} s (failure detection ~4-6 s); workload at {workload.LastProgress}");
                await Task.Delay(pause);
                await victim.ResumeAsync();
                Fault($"SIGCONT silo on gateway {victim.GatewayPort}");

                // A silo that finds itself declared dead shuts down. Give it a while, then start a fresh one on its ports.
                var stopped = await victim.StopGracefullyAsync(TimeSpan.FromSeconds(30));
                Log($"resumed silo {(stopped ? "stopped" : "had to be killed")}; fenced-off log lines so far: {silos.Sum(s => CountOutput(s, FencedLog))}");
                await victim.RestartAsync();
            }

            await FinishAsync(workload);
            await CheckWithFinalReadAsync(workload, silos.Select(s => s.GatewayPort), topic);
            Note($"'{FencedLog}' (a stale log instance refused a write after a takeover) logged {silos.Sum(s => CountOutput(s, FencedLog))} time(s) across the silos");
        }
        finally
        {
            await StopAllAsync(silos);
        }
    }
}
