using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Scenarios;

/// <summary>
/// Broker memory under a large backlog: a real silo-host process (file log and state), a topic with a Shared
/// subscription, a slow consumer (a fixed rate, acking each message), and a producer that publishes a large backlog
/// as fast as it can. The silo's resident set (VmRSS from /proc/&lt;pid&gt;/status) is sampled throughout; the table
/// shows whether memory follows the backlog (unbounded) or stays flat (bounded). With a delay every message is
/// scheduled (deliver after the delay), so the backlog is a delayed backlog the subscription must not hold in memory
/// beyond <c>MaxScheduledInMemory</c>.
/// </summary>
internal static class BacklogMemoryScenario
{
    /// <summary>The scenario's own settings.</summary>
    public sealed record Settings(int Messages, int MessageSize, int Partitions, int ConsumeRate, TimeSpan Hold, TimeSpan SampleInterval, bool Fsync, TimeSpan Delay = default, int MaxScheduled = 0);

    public static async Task<int> RunAsync(Settings s, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync("error: backlog-memory reads /proc/<pid>/status; it runs on Linux only.");
            return 2;
        }

        var data = Path.Combine(Path.GetTempPath(), "omq-bench-backlog", Guid.NewGuid().ToString("N"));
        try
        {
            return await RunCoreAsync(s, data, cancellationToken);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    private static async Task<int> RunCoreAsync(Settings s, string data, CancellationToken cancellationToken)
    {
        string[] args = [$"--OrleansMQ:Fsync={(s.Fsync ? "Always" : "Never")}", "--Logging:LogLevel:Default=Warning",
            .. s.MaxScheduled > 0 ? [$"--OrleansMQ:MaxScheduledInMemory={s.MaxScheduled}"] : Array.Empty<string>()];
        await using var silo = await SiloHostProcess.StartAsync(data, SiloStorage.File, args);
        var pid = silo.Current.Id;
        using var host = await ConnectAsync(silo.GatewayPort, cancellationToken);
        var client = host.Services.GetRequiredService<IOrleansMQClient>();

        const string topic = "backlog";
        await client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = s.Partitions }, cancellationToken);
        await client.Admin.CreateSubscriptionAsync(topic, "slow", new SubscriptionSpec { Start = StartPosition.Earliest }, cancellationToken);

        var clock = Stopwatch.StartNew();
        long published = 0, consumed = 0;
        var phase = "idle";
        var samples = new List<(double Seconds, string Phase, long Published, long Consumed, long RssKiB)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(s.SampleInterval);
            do
            {
                samples.Add((clock.Elapsed.TotalSeconds, phase, Interlocked.Read(ref published), Interlocked.Read(ref consumed), ReadKiB(pid, "VmRSS")));
            }
            while (await timer.WaitForNextTickAsync(stop.Token).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
        }, CancellationToken.None);

        var consumer = Task.Run(async () =>
        {
            await using var c = client.CreateConsumer(topic, "slow", new ConsumerOptions { Prefetch = 100 });
            var pace = Stopwatch.StartNew();
            try
            {
                await foreach (var delivery in c.ConsumeAsync(stop.Token))
                {
                    await delivery.AckAsync(stop.Token);
                    var done = Interlocked.Increment(ref consumed);
                    var due = TimeSpan.FromSeconds(done / (double)s.ConsumeRate) - pace.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);

        await Task.Delay(s.SampleInterval * 2, cancellationToken);
        phase = "publishing";
        Message Delayed(Message m) => s.Delay > TimeSpan.Zero ? m.WithDelay(s.Delay) : m;
        var body = new byte[s.MessageSize];
        Random.Shared.NextBytes(body);
        const int batch = 1000;
        var publishers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            await using var producer = client.CreateProducer(topic);
            for (var first = p * batch; first < s.Messages; first += 4 * batch)
            {
                var count = Math.Min(batch, s.Messages - first);
                await producer.PublishBatchAsync(Enumerable.Range(first, count).Select(i => Delayed(new Message(body) { Key = (i % 1000).ToString(CultureInfo.InvariantCulture) })), cancellationToken);
                Interlocked.Add(ref published, count);
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(publishers);
        var publishSeconds = clock.Elapsed.TotalSeconds;

        phase = "backlog, slow consumer";
        await Task.Delay(s.Hold, cancellationToken);
        var stats = await client.Admin.GetSubscriptionStatsAsync(topic, "slow", cancellationToken);
        stop.Cancel();
        await Task.WhenAll(sampler, consumer);
        var hwm = ReadKiB(pid, "VmHWM");

        Console.WriteLine();
        Console.WriteLine($"### backlog-memory: silo-host RSS ({s.Messages:N0} × {s.MessageSize} B messages, {s.Partitions} partitions, slow consumer at {s.ConsumeRate}/s, fsync {(s.Fsync ? "always" : "never")}{(s.Delay > TimeSpan.Zero ? $", every message delayed {s.Delay.TotalSeconds:0} s, MaxScheduledInMemory {(s.MaxScheduled > 0 ? s.MaxScheduled.ToString("N0", CultureInfo.InvariantCulture) : "default")}" : "")})");
        Console.WriteLine();
        Console.WriteLine("| t (s) | phase | published | consumed | backlog | silo RSS (MiB) |");
        Console.WriteLine("|------:|-------|----------:|---------:|--------:|---------------:|");
        foreach (var (t, p, pub, con, rss) in samples)
        {
            Console.WriteLine($"| {t,5:0} | {p} | {pub:N0} | {con:N0} | {pub - con:N0} | {rss / 1024.0:0} |");
        }

        var idle = samples.First().RssKiB / 1024.0;
        var atEnd = samples.Last().RssKiB / 1024.0;
        var peak = samples.Max(x => x.RssKiB) / 1024.0;
        Console.WriteLine();
        Console.WriteLine($"publish: {s.Messages:N0} messages in {publishSeconds:0.0} s; backlog at the end: {stats.Sum(x => x.Backlog):N0}; in flight: {stats.Sum(x => x.InFlight):N0}; delayed held in memory: {stats.Sum(x => x.ScheduledInMemory):N0}");
        Console.WriteLine($"silo RSS: idle {idle:0} MiB, peak sampled {peak:0} MiB (VmHWM {hwm / 1024.0:0} MiB), at the end {atEnd:0} MiB; backlog bytes (bodies) {s.Messages * (double)s.MessageSize / (1 << 20):0} MiB");
        return 0;
    }

    private static long ReadKiB(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    private static async Task<IHost> ConnectAsync(int gatewayPort, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort, serviceId: "omq", clusterId: "omq"));
        builder.Services.AddOrleansMQClient();
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }
}
