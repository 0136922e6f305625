using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using OrleansMQ.SiloHost.Tests.Processes;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>Durability of the silo host's default (file) storage when the process is killed without warning.</summary>
public sealed partial class SiloKillTests(ITestOutputHelper log) : IDisposable
{
    private const int Partitions = 4;
    private const int CompletedRunCount = 2000;
    private const int AcksBeforeKill = 200;

    // Far more than can be acknowledged before the kill: the second run is always mid-flight when the silo dies.
    private const int InterruptedRunCount = 100_000;
    private const int AfterRestartCount = 200;

    private readonly TempDirectory _dir = new("kill9");
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    [Fact]
    public async Task Acknowledged_publishes_survive_kill_9_of_the_silo()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        // Two topics, because every publish run numbers its messages from 0: on one topic, the complete first run would
        // "verify" the second run's messages even if the kill had lost them.
        var completedTopic = $"kill9-completed-{run}";
        var interruptedTopic = $"kill9-interrupted-{run}";
        await using var silo = await SiloHostProcess.StartAsync(_dir.File("data"), SiloStorage.File);
        Step($"silo started ({silo.Storage} storage) in {silo.LastStartDuration.TotalSeconds:0.0} s on gateway {silo.GatewayPort}");

        // 1. A publish run that completes: every message acknowledged.
        await using var completed = await SampleClient.PublishAsync(silo.GatewayPort, completedTopic, CompletedRunCount, Partitions);
        var completedAcks = Ack.Parse(completed.StdoutLines);
        Assert.True(completed.ExitCode == 0 && completedAcks.Select(a => a.Seq).Distinct().Count() == CompletedRunCount,
            $"The first publish run should acknowledge all {CompletedRunCount} messages; it acknowledged {completedAcks.Count}.\n{completed.Describe()}\n{silo.Describe()}");
        Step($"run 1: {completedAcks.Count} of {CompletedRunCount} acknowledged in {completed.Elapsed.TotalSeconds:0.0} s");

        // 2. A publish run the silo dies under: SIGKILL once it has some acknowledgements and many publishes in flight.
        await using var interrupted = SampleClient.StartPublish(silo.GatewayPort, interruptedTopic, InterruptedRunCount, Partitions);
        var acksSeen = await WaitForAcksAsync(interrupted, AcksBeforeKill, silo);
        await silo.KillAsync();
        var midFlight = !interrupted.HasExited;
        Step($"silo killed (SIGKILL, exit code {silo.Current.ExitCode}) after run 2 had printed {acksSeen} acks ({interrupted.CountStdoutLines(Ack.IsAckLine)} once the silo was gone)");

        // The publisher would keep retrying its unacknowledged batches for its delivery timeout; stop it so the set of
        // acknowledged messages is final. What it printed before is all it ever had acknowledged.
        await interrupted.KillAsync();
        var interruptedAcks = Ack.Parse(interrupted.StdoutLines);
        Assert.True(midFlight && interruptedAcks.Count < InterruptedRunCount,
            $"The silo should die while the second publish run is still going.\n{interrupted.Describe()}\n{silo.Describe()}");
        Step($"run 2: {interruptedAcks.Count} acknowledged before the kill, {interrupted.CountStdoutLines(l => l.StartsWith("FAIL ", StringComparison.Ordinal))} failed");

        // 3. Restart on the same data directory and ports: no acknowledged message is lost.
        await silo.RestartAsync();
        Step($"silo restarted in {silo.LastStartDuration.TotalSeconds:0.0} s");
        await using var verifyCompleted = await SampleClient.VerifyAsync(silo.GatewayPort, completedTopic, completedAcks, _dir.File("acked-completed.txt"));
        await using var verifyInterrupted = await SampleClient.VerifyAsync(silo.GatewayPort, interruptedTopic, interruptedAcks, _dir.File("acked-interrupted.txt"));
        Step($"{completedTopic}: {Summary(verifyCompleted)} ({verifyCompleted.Elapsed.TotalSeconds:0.0} s)");
        Step($"{interruptedTopic}: {Summary(verifyInterrupted)} ({verifyInterrupted.Elapsed.TotalSeconds:0.0} s)");
        Assert.True(verifyCompleted.ExitCode == 0,
            $"verify failed for the completed run: acknowledged messages are missing after the kill, or the topic could not be read.\n{verifyCompleted.Describe()}\n{silo.Describe()}");
        Assert.True(verifyInterrupted.ExitCode == 0,
            $"verify failed for the interrupted run: acknowledged messages are missing after the kill, or the topic could not be read.\n{verifyInterrupted.Describe()}\n{interrupted.Describe()}\n{silo.Describe()}");

        // 4. The restarted broker keeps going: new messages go after the recovered ones and are stored exactly once.
        await using var after = await SampleClient.PublishAsync(silo.GatewayPort, interruptedTopic, AfterRestartCount, Partitions);
        var afterAcks = Ack.Parse(after.StdoutLines);
        Assert.True(after.ExitCode == 0 && afterAcks.Count == AfterRestartCount,
            $"A publish after the restart should acknowledge all {AfterRestartCount} messages; it acknowledged {afterAcks.Count}.\n{after.Describe()}\n{silo.Describe()}");
        foreach (var partition in afterAcks.GroupBy(a => a.Partition))
        {
            var recoveredEnd = interruptedAcks.Where(a => a.Partition == partition.Key).Select(a => a.Offset).DefaultIfEmpty(-1).Max();
            Assert.True(partition.Min(a => a.Offset) > recoveredEnd,
                $"Partition {partition.Key}: a message published after the restart got offset {partition.Min(a => a.Offset)}, but offset {recoveredEnd} was acknowledged before the kill.");
        }

        await using var verifyAll = await SampleClient.VerifyAsync(silo.GatewayPort, interruptedTopic, interruptedAcks.Concat(afterAcks), _dir.File("acked-all.txt"));
        Step($"run 3: {afterAcks.Count} acknowledged after the restart in {after.Elapsed.TotalSeconds:0.0} s; {interruptedTopic}: {Summary(verifyAll)} ({verifyAll.Elapsed.TotalSeconds:0.0} s)");
        Assert.True(verifyAll.ExitCode == 0, $"Verification after the restart and more publishing failed.\n{verifyAll.Describe()}\n{silo.Describe()}");
        Assert.True(StoredCount(verifyAll) == StoredCount(verifyInterrupted) + AfterRestartCount,
            $"The topic should hold exactly {AfterRestartCount} more messages after run 3.\n{verifyInterrupted.Describe()}\n{verifyAll.Describe()}");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Polls the publisher's output until it has <paramref name="count"/> ACK lines (60 s deadline).</summary>
    private static async Task<int> WaitForAcksAsync(ChildProcess publisher, int count, SiloHostProcess silo)
    {
        var clock = Stopwatch.StartNew();
        int seen;
        while ((seen = publisher.CountStdoutLines(Ack.IsAckLine)) < count)
        {
            if (publisher.HasExited || clock.Elapsed > SampleClient.RunTimeout)
            {
                throw new InvalidOperationException($"The second publish run did not reach {count} acknowledgements.\n{publisher.Describe()}\n{silo.Describe()}");
            }

            await Task.Delay(10);
        }

        return seen;
    }

    /// <summary>The "verify: …" line: acknowledged, distinct stored, duplicates and missing counts.</summary>
    private static string Summary(ChildProcess verify) =>
        verify.StdoutLines.FirstOrDefault(l => l.StartsWith("verify:", StringComparison.Ordinal)) ?? $"no summary line (exit code {verify.ExitCode})";

    /// <summary>Messages stored in the topic (distinct plus duplicates) according to verify's summary line.</summary>
    private static int StoredCount(ChildProcess verify)
    {
        var match = VerifySummary().Match(Summary(verify));
        Assert.True(match.Success, $"verify printed no summary line.\n{verify.Describe()}");
        return int.Parse(match.Groups["distinct"].ValueSpan, CultureInfo.InvariantCulture) + int.Parse(match.Groups["duplicates"].ValueSpan, CultureInfo.InvariantCulture);
    }

    private void Step(string what) => log.WriteLine($"[{_clock.Elapsed.TotalSeconds,5:0.0} s] {what}");

    [GeneratedRegex(@"^verify: \d+ acknowledged, (?<distinct>\d+) distinct stored, (?<duplicates>\d+) duplicates, \d+ missing$", RegexOptions.CultureInvariant)]
    private static partial Regex VerifySummary();
}
