using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;

namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>
/// Incremental STOMP 1.2 frame parser over the bytes received so far. It never buffers on its own: the caller keeps the
/// unconsumed bytes (a pipe) and calls again when more arrive. Every limit is checked before the bytes it guards are
/// all there, so a client cannot make the server hold more than one frame's worth of input.
/// </summary>
internal sealed class StompFrameParser(StompOptions limits)
{
    private const byte Lf = (byte)'\n';
    private const byte Cr = (byte)'\r';
    private const byte Null = 0;

    /// <summary>
    /// Parses one frame from the start of <paramref name="buffer"/>. Heart-beats (EOLs between frames) are skipped and
    /// consumed even when no whole frame follows. On success <paramref name="buffer"/> is what follows the frame.
    /// Throws <see cref="StompProtocolException"/> for a malformed frame or one over a limit.
    /// </summary>
    public bool TryParse(ref ReadOnlySequence<byte> buffer, [NotNullWhen(true)] out StompFrame? frame)
    {
        frame = null;
        SkipHeartbeats(ref buffer);
        var reader = new SequenceReader<byte>(buffer);

        if (!TryReadLine(ref reader, out var commandLine))
        {
            return false;
        }

        var command = StompHeaderCodec.Decode(commandLine, unescape: false);
        if (command.Length == 0)
        {
            throw new StompProtocolException("malformed frame", "The command line is empty.");
        }

        var escaped = StompCommands.UsesEscaping(command);
        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            if (!TryReadLine(ref reader, out var line))
            {
                return false;
            }

            if (line.Length == 0)
            {
                break;
            }

            if (headers.Count >= limits.MaxHeaders)
            {
                throw new StompProtocolException("too many headers", $"A frame may have at most {limits.MaxHeaders} headers.");
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new StompProtocolException("malformed frame",
                    colon == 0 ? "A header has an empty name." : "A header line has no ':' between name and value.");
            }

            headers.Add(new(StompHeaderCodec.Decode(line[..colon], escaped), StompHeaderCodec.Decode(line[(colon + 1)..], escaped)));
        }

        ReadOnlySequence<byte> body;
        if (First(headers, StompHeaders.ContentLength) is { } lengthText)
        {
            var length = ParseContentLength(lengthText);
            if (reader.Remaining < length + 1)
            {
                return false;
            }

            body = reader.UnreadSequence.Slice(0, length);
            reader.Advance(length);
            if (!reader.TryRead(out var terminator) || terminator != Null)
            {
                throw new StompProtocolException("malformed frame", $"The body is not followed by a NULL octet after content-length {length}.");
            }
        }
        else if (!reader.TryReadTo(out body, Null, advancePastDelimiter: true))
        {
            if (reader.Remaining > limits.MaxBodyBytes)
            {
                throw TooLarge(reader.Remaining);
            }

            return false;
        }
        else if (body.Length > limits.MaxBodyBytes)
        {
            throw TooLarge(body.Length);
        }

        frame = new StompFrame(command, headers, body.IsEmpty ? ReadOnlyMemory<byte>.Empty : body.ToArray());
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private void SkipHeartbeats(ref ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryPeek(out var b))
        {
            if (b == Lf)
            {
                reader.Advance(1);
            }
            else if (b == Cr && reader.TryPeek(1, out var next) && next == Lf)
            {
                reader.Advance(2);
            }
            else
            {
                break;
            }
        }

        buffer = buffer.Slice(reader.Position);
    }

    /// <summary>Reads one line (without its EOL, a CR before the LF dropped), enforcing the line and header-block limits.</summary>
    private bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        if (!reader.TryReadTo(out ReadOnlySequence<byte> sequence, Lf, advancePastDelimiter: true))
        {
            line = default;
            if (reader.UnreadSequence.PositionOf(Null) is not null)
            {
                throw new StompProtocolException("malformed frame", "The frame ends (NULL octet) before the blank line that ends its headers.");
            }

            if (reader.Remaining > limits.MaxHeaderLineBytes || reader.Consumed + reader.Remaining > limits.MaxHeaderBytes)
            {
                throw new StompProtocolException("header too large",
                    $"A command or header line may be at most {limits.MaxHeaderLineBytes} bytes and the command plus headers at most {limits.MaxHeaderBytes} bytes.");
            }

            return false;
        }

        if (sequence.Length > limits.MaxHeaderLineBytes)
        {
            throw new StompProtocolException("header too large", $"A command or header line is {sequence.Length} bytes; the limit is {limits.MaxHeaderLineBytes}.");
        }

        if (reader.Consumed > limits.MaxHeaderBytes)
        {
            throw new StompProtocolException("header too large", $"The command plus headers exceed {limits.MaxHeaderBytes} bytes.");
        }

        var bytes = sequence.IsSingleSegment ? sequence.FirstSpan : sequence.ToArray();
        if (bytes.Length > 0 && bytes[^1] == Cr)
        {
            bytes = bytes[..^1];
        }

        if (bytes.Contains(Null))
        {
            throw new StompProtocolException("malformed frame", "A NULL octet appears in the command or a header line.");
        }

        line = bytes;
        return true;
    }

    private int ParseContentLength(string text)
    {
        if (text.Length is 0 or > 10 || !Utf8Parser.TryParse(System.Text.Encoding.ASCII.GetBytes(text), out long length, out var consumed) || consumed != text.Length || length < 0)
        {
            throw new StompProtocolException("malformed frame", $"content-length '{Shorten(text)}' is not a non-negative integer.");
        }

        if (length > limits.MaxBodyBytes)
        {
            throw TooLarge(length);
        }

        return (int)length;
    }

    private StompProtocolException TooLarge(long bytes) =>
        new("frame too large", $"The frame body is at least {bytes} bytes; the limit is {limits.MaxBodyBytes} bytes.");

    private static string? First(List<KeyValuePair<string, string>> headers, string name)
    {
        foreach (var (key, value) in headers)
        {
            if (key == name)
            {
                return value;
            }
        }

        return null;
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
