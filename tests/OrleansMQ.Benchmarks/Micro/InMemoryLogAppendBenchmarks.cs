using BenchmarkDotNet.Attributes;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>
/// The in-memory log's append path (frame sizing, copying, segment rolling): the floor under every partition append when
/// the disk is taken out. Each invocation appends <see cref="RecordsPerInvocation"/> records in batches of
/// <see cref="BatchSize"/>, so the figures are per record; a fresh log per iteration keeps memory bounded (~120 MB).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(4096)]
public class InMemoryLogAppendBenchmarks
{
    private const int RecordsPerInvocation = 100;

    private IMessageLog _log = null!;
    private LogRecord[] _batch = null!;

    [Params(1, 100)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup() => _batch = [.. Enumerable.Range(0, BatchSize).Select(i => MicroData.Record(100, i))];

    [IterationSetup]
    public void OpenLog() => _log = new InMemoryMessageLogFactory().OpenAsync("bench", 0).AsTask().GetAwaiter().GetResult();

    [IterationCleanup]
    public void CloseLog() => _log.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = RecordsPerInvocation)]
    public long AppendPerRecord()
    {
        long first = 0;
        for (var appended = 0; appended < RecordsPerInvocation; appended += BatchSize)
        {
            first = _log.AppendAsync(_batch).GetAwaiter().GetResult();
        }

        return first;
    }
}
