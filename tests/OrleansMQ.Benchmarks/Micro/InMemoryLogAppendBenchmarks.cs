using BenchmarkDotNet.Attributes;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>
/// The in-memory log's append path (frame sizing, copying, segment rolling): the floor under every partition append when
/// the disk is taken out. A fresh log per iteration keeps memory bounded.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(2048)]
public class InMemoryLogAppendBenchmarks
{
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

    [Benchmark]
    public long Append() => _log.AppendAsync(_batch).GetAwaiter().GetResult();
}
