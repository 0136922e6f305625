using System.Buffers;
using OrleansMQ.Gateway.Stomp.Protocol;

namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// <see cref="StompHeaderCodec"/>: decoding raw header bytes (with and without STOMP 1.2 unescaping). Bad input:
/// <see cref="StompProtocolException"/> only. Whatever decodes must survive encode-then-decode unchanged.
/// </summary>
internal sealed class StompHeaderTarget : IFuzzTarget
{
    public const string TargetName = "stomp-header";

    public string Name => TargetName;

    public bool IsExpected(Exception exception) => exception is StompProtocolException;

    public void Run(ReadOnlySpan<byte> data)
    {
        var raw = StompHeaderCodec.Decode(data, unescape: false);
        RoundTrip(raw, escape: false);
        var text = StompHeaderCodec.Decode(data, unescape: true);
        RoundTrip(text, escape: true);
    }

    private static void RoundTrip(string text, bool escape)
    {
        var output = new ArrayBufferWriter<byte>();
        StompHeaderCodec.Encode(text, escape, output);
        if (escape)
        {
            FuzzInvariantException.Check(!output.WrittenSpan.ContainsAny((byte)'\r', (byte)'\n', (byte)':'),
                "an escaped header still contains CR, LF or ':'");
        }

        var back = StompHeaderCodec.Decode(output.WrittenSpan, escape);
        FuzzInvariantException.Check(back == text, $"header '{text}' came back as '{back}' (escape: {escape})");
    }
}
