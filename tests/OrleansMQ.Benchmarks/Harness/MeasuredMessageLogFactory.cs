using System.Diagnostics;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>What the log decorator counted: appends (one per partition-grain append), records, and how long each took to become durable.</summary>
internal sealed class LogAppendStats
{
    private long _appends;
    private long _records;

    /// <summary>Time from <see cref="IMessageLog.AppendAsync"/> to its completion (durable: written, and fsync'd under FsyncPolicy.Always).</summary>
    public Recorder AppendTime { get; } = Latency.NewRecorder();

    private readonly List<Func<long>> _commitRounds = [];

    /// <summary>Counts the commit rounds of a file log factory (one write + fsync pass over every log touched); one per silo.</summary>
    public void AddCommitRounds(Func<long> rounds)
    {
        lock (_commitRounds)
        {
            _commitRounds.Add(rounds);
        }
    }

    /// <summary>Appends and records so far, and the file log writers' commit rounds summed over the silos (0 for other backends).</summary>
    public (long Appends, long Records, long Rounds) Snapshot()
    {
        long rounds;
        lock (_commitRounds)
        {
            rounds = _commitRounds.Sum(r => r());
        }

        return (Volatile.Read(ref _appends), Volatile.Read(ref _records), rounds);
    }

    internal void Record(int records, long start, long end)
    {
        Interlocked.Increment(ref _appends);
        Interlocked.Add(ref _records, records);
        AppendTime.Record(start, end);
    }
}

/// <summary>
/// Wraps whichever <see cref="IMessageLogFactory"/> the silo was configured with and times every append. Offsets are still
/// reserved synchronously by the wrapped log (the decorator calls it before its first await), so the log's ordering
/// contract is unchanged.
/// </summary>
internal sealed class MeasuredMessageLogFactory(IMessageLogFactory inner, LogAppendStats stats) : IMessageLogFactory, IAsyncDisposable
{
    /// <summary>Replaces the registered <see cref="IMessageLogFactory"/> (call after <c>AddOrleansMQ</c>) with a measured one.</summary>
    public static void Decorate(IServiceCollection services, LogAppendStats stats)
    {
        var original = services.LastOrDefault(d => d.ServiceType == typeof(IMessageLogFactory) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("No IMessageLogFactory is registered; call AddOrleansMQ first.");
        services.Remove(original);
        services.AddSingleton<IMessageLogFactory>(sp =>
        {
            var inner = Create(original, sp);
            if (inner is FileMessageLogFactory file)
            {
                stats.AddCommitRounds(() => file.CommitRounds);
            }

            return new MeasuredMessageLogFactory(inner, stats);
        });
    }

    public async ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default) =>
        new MeasuredMessageLog(await inner.OpenAsync(topic, partition, cancellationToken), stats);

    public async ValueTask DisposeAsync()
    {
        // The wrapped factory was built by us, not by the container, so the container will not dispose it.
        switch (inner)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static IMessageLogFactory Create(ServiceDescriptor descriptor, IServiceProvider services) => (IMessageLogFactory)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    private sealed class MeasuredMessageLog(IMessageLog log, LogAppendStats stats) : IMessageLog
    {
        public long LowWatermark => log.LowWatermark;

        public long HighWatermark => log.HighWatermark;

        public long SizeBytes => log.SizeBytes;

        public ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
        {
            var start = Stopwatch.GetTimestamp();
            var append = log.AppendAsync(records, cancellationToken);
            if (append.IsCompletedSuccessfully)
            {
                stats.Record(records.Count, start, Stopwatch.GetTimestamp());
                return append;
            }

            return AwaitAsync(append, records.Count, start);
        }

        public ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default) =>
            log.ReadAsync(fromOffset, maxRecords, maxBytes, cancellationToken);

        public ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default) => log.VerifyOwnershipAsync(cancellationToken);

        public ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default) =>
            log.FindOffsetAsync(timestamp, cancellationToken);

        public long EstimateBytesFrom(long offset) => log.EstimateBytesFrom(offset);

        public ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default) =>
            log.ApplyRetentionAsync(request, cancellationToken);

        public ValueTask DeleteAsync(CancellationToken cancellationToken = default) => log.DeleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => log.DisposeAsync();

        private async ValueTask<long> AwaitAsync(ValueTask<long> append, int records, long start)
        {
            var first = await append;
            stats.Record(records, start, Stopwatch.GetTimestamp());
            return first;
        }
    }
}
