using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Scenarios;

/// <summary>
/// How long grain-state writes wait while the grain-state journal checkpoints: the file grain storage with its journal
/// (as the silo runs it), <c>grains</c> subscription-sized states written round after round, 50 at a time, through a
/// small journal so that it fills up during the run. Reports write latency percentiles and the maximum (the stall a
/// checkpoint of every changed state file causes, when it does), per repetition, on a fresh directory each time.
/// With <c>--rate</c> the writes are paced (a silo's state writes follow its acks); without, they go as fast as the
/// journal takes them, and then a journal fills faster than a checkpoint empties the other one.
/// </summary>
internal static class StateCheckpointScenario
{
    public sealed record Settings(int Grains, int Rounds, int Repetitions, long JournalBytes, int MinThreads, int Rate);

    public static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        if (settings.MinThreads > 0)
        {
            ThreadPool.GetMinThreads(out _, out var io);
            ThreadPool.SetMinThreads(settings.MinThreads, io);
        }

        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"state-checkpoint: {settings.Grains} grain states × {settings.Rounds} rounds, 50 writes at a time, journal {settings.JournalBytes / 1024} KiB, {(settings.Rate > 0 ? $"{settings.Rate} writes/s" : "as fast as they complete")}, thread-pool minimum {(settings.MinThreads > 0 ? settings.MinThreads.ToString(CultureInfo.InvariantCulture) : "default")}"));
        Console.WriteLine();
        Console.WriteLine("| repetition | writes | seconds | p50 ms | p99 ms | p99.9 ms | max ms | checkpoints done |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var repetition = 1; repetition <= settings.Repetitions; repetition++)
        {
            var root = Path.Combine(Path.GetTempPath(), "omq-bench", Guid.NewGuid().ToString("N"));
            try
            {
                var storage = new FileGrainStorage("bench", new FileGrainStorageOptions { RootDirectory = root, Journal = true, JournalBytes = settings.JournalBytes },
                    services.GetRequiredService<Serializer>(), services.GetRequiredService<IActivatorProvider>());
                var states = Enumerable.Range(0, settings.Grains).Select(_ => new GrainState<Dictionary<string, long>> { State = [] }).ToArray();
                var latencies = new List<double>(settings.Grains * settings.Rounds);
                var total = Stopwatch.StartNew();
                for (var round = 0; round < settings.Rounds; round++)
                {
                    for (var first = 0; first < states.Length; first += 50)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (settings.Rate > 0)
                        {
                            // Paced: batch n starts n × 50 / rate seconds after the start (never early, catching up when late).
                            var due = TimeSpan.FromSeconds((double)((round * states.Length) + first) / settings.Rate) - total.Elapsed;
                            if (due > TimeSpan.Zero)
                            {
                                await Task.Delay(due, cancellationToken);
                            }
                        }

                        await Task.WhenAll(Enumerable.Range(first, Math.Min(50, states.Length - first)).Select(async i =>
                        {
                            states[i].State!["cursor"] = round;
                            states[i].State!["ack-floor"] = round;
                            var started = Stopwatch.GetTimestamp();
                            await storage.WriteStateAsync("cursor", GrainId.Create("omq.subscription", $"t/0/s{i}"), states[i]);
                            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                            lock (latencies)
                            {
                                latencies.Add(ms);
                            }
                        }));
                    }
                }

                var seconds = total.Elapsed.TotalSeconds;
                var checkpoints = storage.Journal?.Checkpoints ?? 0;
                storage.Dispose();
                latencies.Sort();
                double At(double q) => latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * q))];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {repetition} | {latencies.Count:N0} | {seconds:0.00} | {At(0.5):0.00} | {At(0.99):0.00} | {At(0.999):0.0} | {latencies[^1]:0.0} | {checkpoints} |"));
            }
            finally
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (DirectoryNotFoundException)
                {
                }
            }
        }

        return 0;
    }
}
