using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using OrleansMQ.Grains;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>
/// What a consumer pays for the fan-out store: reading a queue's records back (from the page cache) when they are full
/// records and when they are 51-byte references the read resolves in the store. 10,000 records of 100-byte bodies,
/// written by a fan-out to two queues; read in batches of 500.
/// </summary>
[MemoryDiagnoser]
public class FileLogFanOutReadBenchmarks
{
    private const int Records = 10_000;
    private const int Batch = 500;

    private string _directory = null!;
    private FileMessageLogFactory _factory = null!;
    private IMessageLog _log = null!;

    /// <summary>True: the copies were stored once (references); false: in full.</summary>
    [Params(false, true)]
    public bool References { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "omq-bench-fanout-read", Guid.NewGuid().ToString("N"));
        _factory = new FileMessageLogFactory(Options.Create(new FileLogOptions
        {
            DataDirectory = _directory,
            Journal = true,
            StoreFanOutOnce = References,
        }));
        _log = _factory.OpenAsync("queue-a", 0).AsTask().GetAwaiter().GetResult();
        var other = _factory.OpenAsync("queue-b", 0).AsTask().GetAwaiter().GetResult();
        for (var first = 0; first < Records; first += Batch)
        {
            var shared = Enumerable.Range(first, Batch).Select(i =>
            {
                var body = MicroData.Record(100, i).Body;
                var messageId = $"message-{i:D8}";
                var size = (int)LogRecordCodec.GetTailSize(null, messageId, null, null, null, body.Length);
                var bytes = new byte[size];
                LogRecordCodec.EncodeTail(null, messageId, null, null, null, body.Span, size, bytes);
                return (Body: body, MessageId: messageId, Tail: new SharedTail(bytes));
            }).ToArray();
            LogRecord[] Copy() => [.. shared.Select(s => new LogRecord { Timestamp = DateTimeOffset.UnixEpoch, MessageId = s.MessageId, Body = s.Body, Shared = s.Tail })];
            other.AppendAsync(Copy()).AsTask().GetAwaiter().GetResult();
            _log.AppendAsync(Copy()).AsTask().GetAwaiter().GetResult();
        }

        other.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _factory.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public long ReadPerRecord()
    {
        long bodyBytes = 0;
        for (long from = 0; from < Records;)
        {
            var batch = _log.ReadAsync(from, Batch, 1 << 20).GetAwaiter().GetResult();
            foreach (var record in batch)
            {
                bodyBytes += record.Body.Length;
            }

            from = batch[^1].Offset + 1;
        }

        return bodyBytes;
    }
}
