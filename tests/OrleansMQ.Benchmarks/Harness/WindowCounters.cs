using System.Diagnostics;
using HdrHistogram;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// Snapshots every counter of the broker under test at the start and the end of the measured window and reports the
/// difference: grain calls in the silo and from the client, partition append batching and timing, log appends, and the
/// process's CPU, GC and thread-pool behaviour.
/// </summary>
internal sealed class WindowCounters(BrokerUnderTest broker) : IDisposable
{
    private readonly RuntimeSampler _runtime = new(broker.Azure?.Azurite);
    private Dictionary<string, (long Calls, long Ticks)> _siloBefore = [], _siloAfter = [], _clientBefore = [], _clientAfter = [];
    private (long Appends, long Records, long Rounds) _logBefore, _logAfter;
    private HistogramBase? _siloAppendTime, _clientAppendTime, _appendBatch, _logAppendTime;
    private long _begin, _end;

    public void Begin()
    {
        _begin = Stopwatch.GetTimestamp();
        _runtime.Begin();
        _siloBefore = broker.Calls?.Snapshot() ?? [];
        _clientBefore = broker.ClientCalls?.Snapshot() ?? [];
        _logBefore = broker.Appends?.Snapshot() ?? default;
        broker.Calls?.AppendTime.GetIntervalHistogram();
        broker.Calls?.AppendBatchSize.GetIntervalHistogram();
        broker.ClientCalls?.AppendTime.GetIntervalHistogram();
        broker.Appends?.AppendTime.GetIntervalHistogram();
    }

    public void End()
    {
        _end = Stopwatch.GetTimestamp();
        _runtime.End();
        _siloAfter = broker.Calls?.Snapshot() ?? [];
        _clientAfter = broker.ClientCalls?.Snapshot() ?? [];
        _logAfter = broker.Appends?.Snapshot() ?? default;
        _siloAppendTime = broker.Calls?.AppendTime.GetIntervalHistogram();
        _appendBatch = broker.Calls?.AppendBatchSize.GetIntervalHistogram();
        _clientAppendTime = broker.ClientCalls?.AppendTime.GetIntervalHistogram();
        _logAppendTime = broker.Appends?.AppendTime.GetIntervalHistogram();
    }

    public void AddTo(ResultTable table)
    {
        if (broker.Calls is null)
        {
            table.Add("grain call / log instrumentation", "off (--silo-stats false)");
        }
        else
        {
            var seconds = Stopwatch.GetElapsedTime(_begin, _end).TotalSeconds;
            foreach (var (method, calls, meanMs) in Deltas(_siloBefore, _siloAfter).Take(8))
            {
                table.Add($"silo grain calls: {method}", $"{ResultTable.Rate(calls / seconds)} (mean {meanMs:0.00} ms inside the grain)");
            }

            foreach (var (method, calls, meanMs) in Deltas(_clientBefore, _clientAfter).Take(4))
            {
                table.Add($"client grain calls: {method}", $"{ResultTable.Rate(calls / seconds)} (mean {meanMs:0.00} ms round trip)");
            }

            if (_appendBatch is { TotalCount: > 0 } batch)
            {
                table.Add("messages per partition append call", $"mean {batch.GetMean():0.0}, p50 {batch.GetValueAtPercentile(50)}, p99 {batch.GetValueAtPercentile(99)}, max {batch.GetMaxValue()}");
            }

            if (_clientAppendTime is { TotalCount: > 0 })
            {
                table.Add("append call, client round trip", Latency.Summary(_clientAppendTime));
            }

            if (_siloAppendTime is { TotalCount: > 0 })
            {
                table.Add("append call, inside the grain", Latency.Summary(_siloAppendTime));
            }

            var appends = _logAfter.Appends - _logBefore.Appends;
            if (appends > 0)
            {
                table.Add("log appends", $"{ResultTable.Rate(appends / seconds)}, {(_logAfter.Records - _logBefore.Records) / (double)appends:0.0} records each");
                var rounds = _logAfter.Rounds - _logBefore.Rounds;
                if (rounds > 0)
                {
                    table.Add("file log commit rounds", $"{ResultTable.Rate(rounds / seconds)}, {appends / (double)rounds:0.0} appends each (one writer thread per silo; each round fsyncs every partition file it touched, up to --parallel-flushes at once)");
                }
            }

            if (_logAppendTime is { TotalCount: > 0 })
            {
                table.Add("log append → durable", Latency.Summary(_logAppendTime));
            }
        }

        _runtime.AddTo(table);
    }

    public void Dispose() => _runtime.Dispose();

    private static IEnumerable<(string Method, long Calls, double MeanMs)> Deltas(Dictionary<string, (long Calls, long Ticks)> before, Dictionary<string, (long Calls, long Ticks)> after) =>
        after.Select(kv =>
            {
                var (calls, ticks) = before.GetValueOrDefault(kv.Key);
                var n = kv.Value.Calls - calls;
                return (kv.Key, n, n == 0 ? 0 : (kv.Value.Ticks - ticks) * 1000.0 / Stopwatch.Frequency / n);
            })
            .Where(x => x.n > 0)
            .OrderByDescending(x => x.n);
}
