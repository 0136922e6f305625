using System.Buffers;
using System.Globalization;

namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>Serializes server frames: command, escaped headers, a <c>content-length</c> whenever there is a body, body, NULL.</summary>
internal static class StompFrameWriter
{
    private static ReadOnlySpan<byte> Eol => "\n"u8;

    public static void Write(StompFrame frame, IBufferWriter<byte> output)
    {
        var escape = StompCommands.UsesEscaping(frame.Command);
        StompHeaderCodec.Encode(frame.Command, escape: false, output);
        output.Write(Eol);
        foreach (var (name, value) in frame.Headers)
        {
            if (name == StompHeaders.ContentLength)
            {
                continue;
            }

            StompHeaderCodec.Encode(name, escape, output);
            output.Write(":"u8);
            StompHeaderCodec.Encode(value, escape, output);
            output.Write(Eol);
        }

        if (!frame.Body.IsEmpty || frame.Command is StompCommands.Message or StompCommands.Error)
        {
            output.Write("content-length:"u8);
            StompHeaderCodec.Encode(frame.Body.Length.ToString(CultureInfo.InvariantCulture), escape: false, output);
            output.Write(Eol);
        }

        output.Write(Eol);
        output.Write(frame.Body.Span);
        output.Write("\0"u8);
    }
}
