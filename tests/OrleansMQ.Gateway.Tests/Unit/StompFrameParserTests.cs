using System.Buffers;
using System.Text;
using OrleansMQ.Gateway.Stomp.Protocol;

namespace OrleansMQ.Gateway.Tests.Unit;

public sealed class StompFrameParserTests
{
    private static readonly StompOptions Limits = new() { MaxBodyBytes = 1024, MaxHeaders = 8, MaxHeaderLineBytes = 256, MaxHeaderBytes = 1024 };

    [Fact]
    public void A_frame_split_into_single_bytes_parses_once_it_is_complete()
    {
        var bytes = Encoding.UTF8.GetBytes("\n\r\nSEND\r\ndestination:/queue/a\r\nreceipt:1\r\n\r\nhello\0\n");
        var parser = new StompFrameParser(Limits);
        var pending = new List<byte>();
        StompFrame? parsed = null;
        for (var i = 0; i < bytes.Length && parsed is null; i++)
        {
            pending.Add(bytes[i]);
            var buffer = Segmented(pending.ToArray());
            if (parser.TryParse(ref buffer, out var frame))
            {
                parsed = frame;
                Assert.Equal(i, bytes.Length - 2);
            }
            else
            {
                // Heart-beats (EOLs) before a frame are consumed even when no frame follows yet.
                pending = [.. buffer.ToArray()];
            }
        }

        Assert.NotNull(parsed);
        Assert.Equal("SEND", parsed.Command);
        Assert.Equal("/queue/a", parsed["destination"]);
        Assert.Equal("1", parsed["receipt"]);
        Assert.Equal("hello", Encoding.UTF8.GetString(parsed.Body.Span));
    }

    [Fact]
    public void Content_length_bodies_may_contain_null_octets()
    {
        var frame = Parse([.. "SEND\ndestination:/topic/t\ncontent-length:4\n\n"u8, 0, 1, 0, 2, 0, .. "SEND\ndestination:/topic/t\n\nnext\0"u8], out var rest);

        Assert.Equal(new byte[] { 0, 1, 0, 2 }, frame.Body.ToArray());
        Assert.StartsWith("SEND", Encoding.UTF8.GetString(rest));
    }

    [Fact]
    public void Headers_are_unescaped_except_in_connect_and_the_first_repeated_header_wins()
    {
        var send = Parse("SEND\ndestination:/topic/t\nx:a\\cb\\\\c\\nd\\r\nx:second\n\n\0"u8.ToArray(), out _);
        var connect = Parse("CONNECT\nlogin:a\\cb\npasscode:p:w\n\n\0"u8.ToArray(), out _);

        Assert.Equal("a:b\\c\nd\r", send["x"]);
        Assert.Equal("a\\cb", connect["login"]);
        Assert.Equal("p:w", connect["passcode"]);
    }

    [Theory]
    [InlineData("SEND\nx:bad\\tescape\n\n\0", "malformed frame")]
    [InlineData("SEND\nno colon here\n\n\0", "malformed frame")]
    [InlineData("SEND\n:empty name\n\n\0", "malformed frame")]
    [InlineData("SEND\ncontent-length:-1\n\n\0", "malformed frame")]
    [InlineData("SEND\ncontent-length:3\n\nabcd\0", "malformed frame")]
    [InlineData("SEND\ncontent-length:2000\n\n", "frame too large")]
    [InlineData("SEND\ndestination:/topic/x\0", "malformed frame")]
    [InlineData("SEND\na:1\nb:2\nc:3\nd:4\ne:5\nf:6\ng:7\nh:8\ni:9\n\n\0", "too many headers")]
    public void Malformed_or_oversized_frames_are_protocol_errors(string text, string message)
    {
        var error = Assert.Throws<StompProtocolException>(() => Parse(Encoding.UTF8.GetBytes(text), out _));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Limits_apply_before_the_frame_is_complete()
    {
        Assert.Equal("header too large", Assert.Throws<StompProtocolException>(() => TryParse(Encoding.UTF8.GetBytes("SEND\nx:" + new string('a', 300)))).Message);
        Assert.Equal("frame too large", Assert.Throws<StompProtocolException>(() => TryParse(Encoding.UTF8.GetBytes("SEND\n\n" + new string('a', 1025)))).Message);
        Assert.False(TryParse(Encoding.UTF8.GetBytes("SEND\n\n" + new string('a', 1024))));
    }

    [Fact]
    public void Written_frames_escape_headers_count_body_bytes_and_parse_back()
    {
        var writer = new ArrayBufferWriter<byte>();
        StompFrameWriter.Write(new StompFrame("MESSAGE", [new("subscription", "s:1"), new("x", "a\\b\nc\r")], new byte[] { 0, 65 }), writer);

        var text = Encoding.UTF8.GetString(writer.WrittenSpan);
        Assert.StartsWith("MESSAGE\nsubscription:s\\c1\nx:a\\\\b\\nc\\r\ncontent-length:2\n\n", text);
        var parsed = Parse(writer.WrittenSpan.ToArray(), out _);
        Assert.Equal("s:1", parsed["subscription"]);
        Assert.Equal("a\\b\nc\r", parsed["x"]);
        Assert.Equal(new byte[] { 0, 65 }, parsed.Body.ToArray());
    }

    private static StompFrame Parse(byte[] bytes, out byte[] rest)
    {
        var buffer = Segmented(bytes);
        Assert.True(new StompFrameParser(Limits).TryParse(ref buffer, out var frame));
        rest = buffer.ToArray();
        return frame!;
    }

    private static bool TryParse(byte[] bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        return new StompFrameParser(Limits).TryParse(ref buffer, out _);
    }

    /// <summary>A sequence of 3-byte segments, so every parse crosses segment boundaries.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes.AsMemory(0, Math.Min(3, bytes.Length)), 0);
        var last = first;
        for (var i = 3; i < bytes.Length; i += 3)
        {
            last = last.Append(bytes.AsMemory(i, Math.Min(3, bytes.Length - i)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
