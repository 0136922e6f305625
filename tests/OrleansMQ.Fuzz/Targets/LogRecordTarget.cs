using OrleansMQ.Server.Storage;

namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// <see cref="LogRecordCodec.Decode"/> on a raw payload. Bad input: <see cref="InvalidDataException"/> only. A payload that
/// decodes must round-trip: encoding the record and decoding that gives the same record (not necessarily the same
/// bytes: invalid UTF-8 decodes to U+FFFD and over-long length fields are accepted).
/// </summary>
internal sealed class LogRecordTarget : IFuzzTarget
{
    public const string TargetName = "log-record";

    public string Name => TargetName;

    public bool IsExpected(Exception exception) => exception is InvalidDataException;

    public void Run(ReadOnlySpan<byte> data)
    {
        var record = LogRecordCodec.Decode(data);
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];
        LogRecordCodec.Write(record, record.Offset, size, frame);
        FuzzInvariantException.Check(LogRecordCodec.TryReadFrameHeader(frame, out var length, out var crc), "a written frame has an invalid header");
        var payload = frame.AsSpan(LogRecordCodec.FrameHeaderSize, length);
        FuzzInvariantException.Check(LogRecordCodec.IsValidPayload(payload, crc), "a written frame fails its own CRC");
        AssertSame(record, LogRecordCodec.Decode(payload));
    }

    internal static void AssertSame(LogRecord expected, LogRecord actual)
    {
        FuzzInvariantException.Check(expected.Offset == actual.Offset, $"offset {expected.Offset} came back as {actual.Offset}");
        FuzzInvariantException.Check(expected.Timestamp.UtcTicks == actual.Timestamp.UtcTicks && expected.Timestamp.Offset == actual.Timestamp.Offset,
            $"time stamp {expected.Timestamp:O} came back as {actual.Timestamp:O}");
        FuzzInvariantException.Check(expected.Sequence == actual.Sequence, "sequence changed");
        FuzzInvariantException.Check(expected.Key == actual.Key && expected.MessageId == actual.MessageId
            && expected.ContentType == actual.ContentType && expected.ProducerId == actual.ProducerId, "a string field changed");
        var a = expected.Headers ?? new Dictionary<string, string>();
        var b = actual.Headers ?? new Dictionary<string, string>();
        FuzzInvariantException.Check(a.Count == b.Count && a.All(h => b.TryGetValue(h.Key, out var v) && v == h.Value), "headers changed");
        FuzzInvariantException.Check(expected.Body.Span.SequenceEqual(actual.Body.Span), "body changed");
    }
}
