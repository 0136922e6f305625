using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using OrleansMQ.Grains;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// A grain call filter that counts calls per interface method, and for partition appends the messages per call and the
/// call time. Registered as an incoming filter in the silo it times the grain (validation + durable append, not the
/// wait for the turn); as an outgoing filter in the client it times the whole round trip (serialization, loopback TCP,
/// gateway, silo queues, grain, reply). The gap between the two is transport and queueing.
/// </summary>
internal sealed class GrainCallStats : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<(string Interface, string Method), Counter> _counters = new();

    /// <summary>Time of <see cref="IPartitionGrain.AppendAsync"/> calls.</summary>
    public Recorder AppendTime { get; } = Latency.NewRecorder();

    /// <summary>Messages per <see cref="IPartitionGrain.AppendAsync"/> call.</summary>
    public Recorder AppendBatchSize { get; } = HistogramFactory.With64BitBucketSize().WithValuesFrom(1).WithValuesUpTo(1_000_000).WithPrecisionOf(2)
        .WithThreadSafeWrites().WithThreadSafeReads().Create();

    public Task Invoke(IIncomingGrainCallContext context) => InvokeAsync(context);

    public Task Invoke(IOutgoingGrainCallContext context) => InvokeAsync(context);

    private async Task InvokeAsync(IGrainCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await context.Invoke();
        }
        finally
        {
            var end = Stopwatch.GetTimestamp();
            var counter = _counters.GetOrAdd((context.InterfaceName, context.MethodName), static _ => new Counter());
            Interlocked.Increment(ref counter.Calls);
            Interlocked.Add(ref counter.Ticks, end - start);
            if (context.Request.GetArgumentCount() == 1 && context.Request.GetArgument(0) is AppendRequest request)
            {
                AppendTime.Record(start, end);
                AppendBatchSize.RecordValue(Math.Max(1, request.Messages.Count));
            }
        }
    }

    /// <summary>Call counts and total silo-side time per method, so far.</summary>
    public Dictionary<string, (long Calls, long Ticks)> Snapshot() =>
        _counters.ToDictionary(
            kv => $"{kv.Key.Interface[(kv.Key.Interface.LastIndexOf('.') + 1)..]}.{kv.Key.Method}",
            kv => (Volatile.Read(ref kv.Value.Calls), Volatile.Read(ref kv.Value.Ticks)));

    private sealed class Counter
    {
        public long Calls;
        public long Ticks;
    }
}
