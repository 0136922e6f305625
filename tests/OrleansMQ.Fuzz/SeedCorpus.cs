using System.Text;
using OrleansMQ.Fuzz.Targets;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Fuzz;

/// <summary>
/// The hand-made starting inputs of each target, written by the real encoders (<c>OrleansMQ.Fuzz &lt;target&gt;
/// --write-seeds &lt;folder&gt;</c>; the output is committed under <c>corpus/&lt;target&gt;/</c>).
/// </summary>
internal static class SeedCorpus
{
    public static IEnumerable<(string Name, byte[] Bytes)> For(string target) => target switch
    {
        LogRecordTarget.TargetName => Records().Select((r, i) => ($"record-{i}", Payload(r))),
        SegmentTarget.TargetName => Segments(),
        StompFrameTarget.TargetName => StompFrames().Select((f, i) => ($"frame-{i}", Encoding.UTF8.GetBytes(f))),
        StompHeaderTarget.TargetName => StompHeaders().Select((h, i) => ($"header-{i}", Encoding.UTF8.GetBytes(h))),
        FilterTarget.TargetName => Filters().Select((f, i) => ($"filter-{i}", Encoding.UTF8.GetBytes(f))),
        _ => throw new ArgumentException($"Unknown fuzz target '{target}'.", nameof(target)),
    };

    private static IEnumerable<LogRecord> Records()
    {
        var time = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.FromHours(2));
        yield return new LogRecord { Offset = 0, Timestamp = time, Body = Array.Empty<byte>() };
        yield return new LogRecord { Offset = 1, Timestamp = time, Key = "k", MessageId = "m-1", ContentType = "text/plain", Body = "hello"u8.ToArray() };
        yield return new LogRecord
        {
            Offset = 2, Timestamp = time, Key = "order-42", MessageId = "0b7c", ContentType = "application/json", ProducerId = "p-1", Sequence = 7,
            Headers = new Dictionary<string, string> { ["omq-deliver-at"] = "2026-01-01T12:00:05Z", ["trace"] = "abc", ["ünï"] = "çødé" },
            Body = "{\"amount\":150,\"region\":\"eu\"}"u8.ToArray(),
        };
        yield return new LogRecord { Offset = long.MaxValue, Timestamp = DateTimeOffset.MaxValue, Sequence = long.MinValue, Body = new byte[300] };
    }

    private static byte[] Payload(LogRecord record)
    {
        var frame = Frame(record, record.Offset);
        return frame[LogRecordCodec.FrameHeaderSize..];
    }

    private static byte[] Frame(LogRecord record, long offset)
    {
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];
        LogRecordCodec.Write(record, offset, size, frame);
        return frame;
    }

    private static IEnumerable<(string, byte[])> Segments()
    {
        var records = Records().Take(3).ToList();
        var segment = records.SelectMany((r, i) => Frame(r, i)).ToArray();
        // Flag byte first (see SegmentTarget): 0 = bytes as they are, 3 = fix offsets and CRCs.
        yield return ("segment-valid", [0, .. segment]);
        yield return ("segment-fixup", [3, .. segment]);
        yield return ("segment-torn", [0, .. segment[..^5]]);
        yield return ("segment-empty", [0]);
    }

    private static IEnumerable<string> StompFrames()
    {
        // First character: segment size selector (see StompFrameTarget).
        yield return "\u0007CONNECT\naccept-version:1.2\nhost:localhost\nlogin:guest\npasscode:guest\nheart-beat:10000,10000\n\n\0";
        yield return "\u0003SEND\ndestination:/queue/orders\ncontent-type:text/plain\ncontent-length:5\nreceipt:r-1\n\nhello\0\n\n";
        yield return "\u0001SUBSCRIBE\r\nid:0\r\ndestination:/topic/chat\r\nack:client-individual\r\n\r\n\0";
        yield return "\u0010SEND\ndestination:/queue/a\nh\\cname:v\\\\al\\nue\n\nbody without length\0ACK\nid:m-1\n\n\0\n";
        yield return "\u0020\n\n\r\nDISCONNECT\nreceipt:bye\n\n\0";
        yield return "\u0005SEND\ndestination:/queue/b\ncontent-length:3\n\na\0b\0";
    }

    private static IEnumerable<string> Filters() =>
    [
        "body.amount > 100 && headers.currency == 'EUR'",
        "!(key == 'order-1') || content_type != null",
        "headers.vip",
        "body.items.2.a == null && body.n.m == true && headers.n >= 1e300",
        "(((body.region == 'eu')))",
        "headers.currency < -1.5e3 || key <= 'z' && body.amount != 'x\\'y'",
    ];

    private static IEnumerable<string> StompHeaders() =>
        ["destination", "/queue/orders", "a\\cb\\nc\\rd\\\\e", "ünïcødé value", "", "trailing\\", "bad\\t"];
}
