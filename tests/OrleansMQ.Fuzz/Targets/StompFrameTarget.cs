using System.Buffers;
using OrleansMQ.Gateway;
using OrleansMQ.Gateway.Stomp.Protocol;

namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// <see cref="StompFrameParser"/> on a byte stream, parsed twice: as one buffer and split into small segments (the
/// pipe of a real connection). Bad input: <see cref="StompProtocolException"/> only. Both parses must agree frame for
/// frame (and fail alike); every parsed frame consumes input and respects the limits; an incomplete frame never leaves
/// more than one frame's worth of bytes buffered.
/// </summary>
/// <remarks>The first input byte picks the segment size (1–64 bytes); the rest is the stream.</remarks>
internal sealed class StompFrameTarget : IFuzzTarget
{
    public const string TargetName = "stomp-frame";

    internal static readonly StompOptions Limits = new() { MaxBodyBytes = 4096, MaxHeaders = 16, MaxHeaderLineBytes = 256, MaxHeaderBytes = 1024 };

    public string Name => TargetName;

    public bool IsExpected(Exception exception) => exception is StompProtocolException;

    public void Run(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        var segmentSize = data[0] % 64 + 1;
        var stream = data[1..].ToArray();
        var whole = Parse(new ReadOnlySequence<byte>(stream));
        var split = Parse(Segmented(stream, segmentSize));
        FuzzInvariantException.Check(whole.Frames.Count == split.Frames.Count,
            $"one buffer gave {whole.Frames.Count} frames, {segmentSize}-byte segments gave {split.Frames.Count}");
        for (var i = 0; i < whole.Frames.Count; i++)
        {
            FuzzInvariantException.Check(whole.Frames[i] == split.Frames[i], $"frame {i} differs between one buffer and {segmentSize}-byte segments");
        }

        FuzzInvariantException.Check(whole.Error == split.Error, $"one buffer ended with '{whole.Error}', segments with '{split.Error}'");
    }

    private static (List<string> Frames, string? Error) Parse(ReadOnlySequence<byte> buffer)
    {
        var parser = new StompFrameParser(Limits);
        var frames = new List<string>();
        try
        {
            while (true)
            {
                var before = buffer.Length;
                if (!parser.TryParse(ref buffer, out var frame))
                {
                    FuzzInvariantException.Check(buffer.Length <= Limits.MaxFrameBytes + 1,
                        $"{buffer.Length} bytes stay buffered for an incomplete frame; the limit is {Limits.MaxFrameBytes}");
                    return (frames, null);
                }

                FuzzInvariantException.Check(buffer.Length < before, "a frame was parsed without consuming input");
                FuzzInvariantException.Check(frame.Command.Length > 0, "a frame with an empty command was parsed");
                FuzzInvariantException.Check(frame.Headers.Count <= Limits.MaxHeaders, $"a frame with {frame.Headers.Count} headers was parsed");
                FuzzInvariantException.Check(frame.Body.Length <= Limits.MaxBodyBytes, $"a frame with a {frame.Body.Length}-byte body was parsed");
                frames.Add($"{frame.Command}|{string.Join('|', frame.Headers.Select(h => h.Key + ":" + h.Value))}|{Convert.ToHexString(frame.Body.Span)}");
            }
        }
        catch (StompProtocolException ex)
        {
            return (frames, ex.Message + ": " + ex.Detail);
        }
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null, last = null;
        for (var i = 0; i < bytes.Length; i += size)
        {
            var chunk = bytes.AsMemory(i, Math.Min(size, bytes.Length - i));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
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
