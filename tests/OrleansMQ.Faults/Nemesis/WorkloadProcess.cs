using System.Globalization;
using OrleansMQ.Faults.History;
using OrleansMQ.Faults.Workload;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>A workload run (<c>omq-faults workload …</c>) as its own process, so it survives whatever happens to the silos.</summary>
public sealed class WorkloadProcess : IAsyncDisposable
{
    private WorkloadProcess(ChildProcess process, string directory, string runId, IReadOnlyList<SubscriptionPlan> subscriptions)
    {
        Process = process;
        Directory = directory;
        RunId = runId;
        Subscriptions = subscriptions;
    }

    /// <summary>The child process.</summary>
    public ChildProcess Process { get; }

    /// <summary>Where its histories are.</summary>
    public string Directory { get; }

    /// <summary>The run id (its producers are "{RunId}-p{i}").</summary>
    public string RunId { get; }

    /// <summary>The subscriptions it consumes.</summary>
    public IReadOnlyList<SubscriptionPlan> Subscriptions { get; }

    /// <summary>The producer ids of this run.</summary>
    public IReadOnlyList<string> Producers(int count) => [.. Enumerable.Range(1, count).Select(i => $"{RunId}-p{i}")];

    /// <summary>Starts a workload run against <paramref name="gateways"/>.</summary>
    public static WorkloadProcess Start(FaultRunSettings settings, string topic, string runId, IEnumerable<int> gateways, IReadOnlyList<SubscriptionPlan> subscriptions)
    {
        var directory = Path.Combine(settings.OutputDirectory, runId);
        var dll = BuildOutputs.Find(Path.Combine("tests", "OrleansMQ.Faults"), "omq-faults.dll");
        string I(int value) => value.ToString(CultureInfo.InvariantCulture);
        var process = ChildProcess.Start($"workload {runId}", dll,
        [
            "workload",
            "--gateway", .. gateways.Select(I),
            "--topic", topic,
            "--run-id", runId,
            "--partitions", I(settings.Partitions),
            "--producers", I(settings.Producers),
            "--messages", I(settings.MessagesPerProducer),
            "--rate", I(settings.Rate),
            "--keys", I(settings.Keys),
            "--out", directory,
            .. subscriptions.SelectMany(s => new[] { "--subscription", s.ToString() }),
        ]);
        return new WorkloadProcess(process, directory, runId, subscriptions);
    }

    /// <summary>Waits for the run to end (publishing, then the drain); kills it after <paramref name="timeout"/>.</summary>
    public Task<int> WaitAsync(TimeSpan timeout) => Process.WaitForExitAsync(timeout);

    /// <summary>The publish history written so far.</summary>
    public List<PublishRecord> ReadPublishes() => HistoryJson.Read<PublishRecord>([Path.Combine(Directory, WorkloadRunner.PublishesFile)]);

    /// <summary>The delivery history written so far.</summary>
    public List<DeliveryRecord> ReadDeliveries() => HistoryJson.Read<DeliveryRecord>([Path.Combine(Directory, WorkloadRunner.DeliveriesFile)]);

    /// <summary>The last "progress …" line it printed.</summary>
    public string LastProgress => Process.StdoutLines.LastOrDefault(l => l.StartsWith("progress", StringComparison.Ordinal) || l.StartsWith("done", StringComparison.Ordinal)) ?? "(no progress yet)";

    /// <summary>Acknowledged publishes according to the last progress line.</summary>
    public int Acknowledged
    {
        get
        {
            var line = LastProgress;
            var at = line.IndexOf(" ok=", StringComparison.Ordinal);
            if (at < 0)
            {
                return 0;
            }

            var digits = line.AsSpan(at + 4);
            var end = digits.IndexOf(' ');
            return int.Parse(end < 0 ? digits : digits[..end], CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Waits until the run has <paramref name="acks"/> acknowledged publishes (the nemesis starts only once the workload is
    /// connected and running), or it exits, or <paramref name="timeout"/> passes (then throws with its output).
    /// </summary>
    public async Task WaitForAcksAsync(int acks, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Acknowledged < acks && !Process.HasExited)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The workload did not reach {acks} acknowledged publishes within {timeout.TotalSeconds:0} s.\n{Process.Describe()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Whether the run has passed the end of publishing.</summary>
    public bool PublishingDone => Process.CountStdoutLines(l => l.StartsWith("published in", StringComparison.Ordinal)) > 0;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
