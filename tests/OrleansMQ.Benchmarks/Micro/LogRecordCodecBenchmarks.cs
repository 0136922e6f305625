using BenchmarkDotNet.Attributes;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>The file log's record frame: size, encode (with CRC-32C) and decode of one record as a producer sends it.</summary>
[MemoryDiagnoser]
public class LogRecordCodecBenchmarks
{
    private LogRecord _record = null!;
    private byte[] _frame = null!;
    private int _frameSize;

    [Params(100, 1024)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _record = MicroData.Record(BodyBytes, sequence: 42);
        _frameSize = LogRecordCodec.GetFrameSize(_record);
        _frame = new byte[_frameSize];
        LogRecordCodec.Write(_record, 1234, _frameSize, _frame);
    }

    [Benchmark]
    public int FrameSize() => LogRecordCodec.GetFrameSize(_record);

    [Benchmark]
    public void Encode() => LogRecordCodec.Write(_record, 1234, LogRecordCodec.GetFrameSize(_record), _frame);

    [Benchmark]
    public LogRecord Decode() => LogRecordCodec.Decode(_frame.AsSpan(LogRecordCodec.FrameHeaderSize));
}
