using System.Buffers;
using System.Text;

namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>
/// STOMP 1.2 header value encoding: UTF-8, with CR, LF, ':' and '\' escaped as <c>\r</c>, <c>\n</c>, <c>\c</c>,
/// <c>\\</c> in every frame except CONNECT/STOMP/CONNECTED. Any other escape is a fatal protocol error.
/// </summary>
internal static class StompHeaderCodec
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly SearchValues<char> NeedsEscaping = SearchValues.Create("\\\r\n:");

    public static string Decode(ReadOnlySpan<byte> raw, bool unescape)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(raw);
        }
        catch (DecoderFallbackException ex)
        {
            throw new StompProtocolException("malformed frame", "A header is not valid UTF-8.", ex);
        }

        if (!unescape || !text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\')
            {
                result.Append(c);
                continue;
            }

            if (i + 1 >= text.Length)
            {
                throw new StompProtocolException("malformed frame", "A header ends with a lone '\\'; STOMP 1.2 allows only \\r, \\n, \\c and \\\\.");
            }

            result.Append(text[++i] switch
            {
                'r' => '\r',
                'n' => '\n',
                'c' => ':',
                '\\' => '\\',
                var other => throw new StompProtocolException("malformed frame", $"Undefined escape sequence '\\{other}' in a header; STOMP 1.2 allows only \\r, \\n, \\c and \\\\."),
            });
        }

        return result.ToString();
    }

    public static void Encode(string value, bool escape, IBufferWriter<byte> output)
    {
        if (!escape || !value.AsSpan().ContainsAny(NeedsEscaping))
        {
            Write(value, output);
            return;
        }

        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': escaped.Append("\\\\"); break;
                case '\r': escaped.Append("\\r"); break;
                case '\n': escaped.Append("\\n"); break;
                case ':': escaped.Append("\\c"); break;
                default: escaped.Append(c); break;
            }
        }

        Write(escaped.ToString(), output);
    }

    private static void Write(string text, IBufferWriter<byte> output)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
