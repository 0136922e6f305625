using System.Diagnostics;
using OrleansMQ.Faults.History;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// Embedded mode, storage errors while publishing and consuming: the silo runs with the test-only fault-injecting log
/// (OrleansMQ:FaultInjection, allowed by OMQ_ENABLE_FAULT_INJECTION=1) and the nemesis switches it between slow appends,
/// failing appends and an injected ENOSPC; then, when this process may mount a small tmpfs for the silo's data, it fills
/// that filesystem for real (a ballast file up to ENOSPC) and frees it again. Publishes during a full disk must fail with
/// the typed StorageFull error (and are logged as outcome unknown); nothing acknowledged may be lost; once space returns
/// the broker must acknowledge publishes again without a restart.
/// </summary>
internal sealed class StorageErrorScenario : FaultScenario
{
    private const string StorageFullCode = "(StorageFull)";

    public override string Name => "storage-errors";

    protected override async Task ExecuteAsync()
    {
        var disk = Path.Combine(Settings.OutputDirectory, "disk");
        Directory.CreateDirectory(disk);
        var mounted = await TryMountTmpfsAsync(disk, "64m");
        var control = Path.Combine(Settings.OutputDirectory, "fault-control.txt");
        await File.WriteAllTextAsync(control, "none\n");
        try
        {
            await using var silo = await SiloHostProcess.StartWithEnvironmentAsync(Path.Combine(disk, "data"), SiloStorage.File,
                new Dictionary<string, string> { ["OMQ_ENABLE_FAULT_INJECTION"] = "1" },
                "--OrleansMQ:FaultInjection:Enabled=true", $"--OrleansMQ:FaultInjection:ControlFile={control}");
            await using var workload = WorkloadProcess.Start(Settings, NewTopic(), "run1", [silo.GatewayPort], [new("ex", SubscriptionType.Exclusive, 1), new("ks", SubscriptionType.KeyShared, 2)]);
            await workload.WaitForAcksAsync(100, WorkloadStartTimeout);
            var phase = Settings.PublishDuration / 8;

            // ENOSPC first: each later phase starts only once publishing has recovered from the one before (how long
            // that takes is part of the report).
            foreach (var fault in new[] { "full", $"slow {Random.Next(100, 400)}", "fail" })
            {
                await File.WriteAllTextAsync(control, fault + "\n");
                var length = Between(phase / 2, phase);
                Fault($"injected storage fault '{fault}' for {length.TotalSeconds:0.0} s; workload at {workload.LastProgress}");
                await Task.Delay(length);
                await File.WriteAllTextAsync(control, "none\n");
                await RecoveredAsync(workload, $"injected '{fault}'");
            }

            var realFull = false;
            if (mounted && !workload.PublishingDone)
            {
                var ballast = Path.Combine(disk, "ballast");
                var filled = FillUntilFull(ballast);
                realFull = true;
                Fault($"filled the silo's 64 MiB tmpfs with a {filled / (1024 * 1024)} MiB ballast file until ENOSPC; workload at {workload.LastProgress}");
                await Task.Delay(Between(phase / 2, phase));
                File.Delete(ballast);
                Fault($"deleted the ballast (space is back); workload at {workload.LastProgress}");
                await RecoveredAsync(workload, "real ENOSPC");
            }
            else if (!mounted)
            {
                Note("the real full-disk phase did not run: this process may not mount a tmpfs (needs root); the injected ENOSPC phase covers the error path");
            }

            var acksWhenHealthy = workload.Acknowledged;
            await FinishAsync(workload);
            await SaveAsync(silo, "silo");
            var publishes = workload.ReadPublishes();
            Check(workload);

            var storageFull = publishes.Count(p => p.Error?.Contains(StorageFullCode, StringComparison.Ordinal) == true);
            var otherErrors = publishes.Where(p => p.Outcome != PublishOutcome.Ok && p.Error?.Contains(StorageFullCode, StringComparison.Ordinal) != true).Select(p => p.Error).Distinct().Take(5).ToList();
            Note($"{storageFull} publishes failed with ErrorCode.StorageFull{(realFull ? " (injected and real ENOSPC)" : " (injected ENOSPC)")}; other publish errors: {(otherErrors.Count == 0 ? "none" : string.Join(" | ", otherErrors))}");
            Note($"{workload.Acknowledged - acksWhenHealthy} publishes acknowledged after the last storage fault was lifted, without restarting the silo");
            if (storageFull == 0)
            {
                Problem("no publish failed with the typed StorageFull error while the disk was full");
            }

            if (workload.Acknowledged <= acksWhenHealthy && publishes.Count(p => p.Outcome == PublishOutcome.Ok) < Settings.Producers * Settings.MessagesPerProducer / 2)
            {
                Problem("the broker did not acknowledge publishes again after the storage faults were lifted");
            }

            if (silo.Current.HasExited)
            {
                Problem($"the silo process exited during the storage faults.\n{silo.Describe()}");
            }
        }
        finally
        {
            if (mounted)
            {
                await RunAsync("umount", "-l", disk);
            }
        }
    }

    // Waits until the workload gets new acknowledgements after a fault was lifted, and notes how long that took.
    private async Task RecoveredAsync(WorkloadProcess workload, string fault)
    {
        var before = workload.Acknowledged;
        var clock = Stopwatch.StartNew();
        while (workload.Acknowledged < before + 20 && !workload.PublishingDone && !workload.Process.HasExited)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                Problem($"publishing did not recover within 120 s after the {fault} fault was lifted ({workload.LastProgress})");
                return;
            }

            await Task.Delay(200);
        }

        Note($"after the {fault} fault was lifted, publishing recovered in {clock.Elapsed.TotalSeconds:0.0} s ({workload.LastProgress})");
    }

    private static long FillUntilFull(string path)
    {
        var chunk = new byte[1 << 20];
        long written = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        foreach (var size in new[] { 1 << 20, 4096, 1 })
        {
            try
            {
                while (true)
                {
                    file.Write(chunk, 0, size);
                    written += size;
                }
            }
            catch (IOException)
            {
                // ENOSPC: try the next smaller size, so the filesystem ends up full to the last byte.
            }
        }

        return written;
    }

    private async Task<bool> TryMountTmpfsAsync(string path, string size)
    {
        var (exit, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        if (exit != 0)
        {
            Log($"mount -t tmpfs refused (exit {exit}): {output.Trim()}");
        }

        return exit == 0;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var output = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
