using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>What <see cref="FrameScanner.Next"/> found.</summary>
internal enum FrameStatus
{
    /// <summary>A frame whose length and CRC are valid.</summary>
    Record,

    /// <summary>The scan reached its end position exactly at a frame boundary.</summary>
    End,

    /// <summary>The bytes left are fewer than the frame header or the frame's length says (a torn write).</summary>
    Truncated,

    /// <summary>The length field is out of range.</summary>
    BadLength,

    /// <summary>The CRC does not match the payload, or the payload's format is unknown.</summary>
    BadChecksum,
}

/// <summary>
/// Reads the frames of a segment file between two positions through a pooled buffer, with positional reads
/// (<see cref="RandomAccess"/>), so any number of scanners and the writer share one handle.
/// </summary>
internal sealed class FrameScanner : IDisposable
{
    private const int DefaultBufferSize = 64 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly long _end;
    private byte[] _buffer;
    private long _bufferPosition;
    private int _bufferLength;
    private int _cursor;

    public FrameScanner(SafeFileHandle handle, long start, long end, int bufferSize = DefaultBufferSize)
    {
        _handle = handle;
        _end = end;
        _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(end - start, LogRecordCodec.FrameHeaderSize, bufferSize));
        _bufferPosition = start;
    }

    /// <summary>The file position of the next frame (after a <see cref="FrameStatus.Record"/>, the end of that record).</summary>
    public long Position => _bufferPosition + _cursor;

    /// <summary>
    /// Reads the next frame. On <see cref="FrameStatus.Record"/>, <paramref name="payload"/> is valid until the next call
    /// and <see cref="Position"/> moved past the frame; otherwise <see cref="Position"/> stays at the bad frame.
    /// </summary>
    public FrameStatus Next(out ReadOnlySpan<byte> payload)
    {
        payload = default;
        var position = Position;
        var left = _end - position;
        if (left == 0)
        {
            return FrameStatus.End;
        }

        if (left < LogRecordCodec.FrameHeaderSize || !Fill(LogRecordCodec.FrameHeaderSize))
        {
            return FrameStatus.Truncated;
        }

        if (!LogRecordCodec.TryReadFrameHeader(_buffer.AsSpan(_cursor, LogRecordCodec.FrameHeaderSize), out var length, out var crc))
        {
            return FrameStatus.BadLength;
        }

        var frameSize = LogRecordCodec.FrameHeaderSize + length;
        if (left < frameSize || !Fill(frameSize))
        {
            return FrameStatus.Truncated;
        }

        var candidate = _buffer.AsSpan(_cursor + LogRecordCodec.FrameHeaderSize, length);
        if (!LogRecordCodec.IsValidPayload(candidate, crc))
        {
            return FrameStatus.BadChecksum;
        }

        payload = candidate;
        _cursor += frameSize;
        return FrameStatus.Record;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Makes `count` bytes from the cursor available; false when the file ends first (shorter than the caller believed).
    private bool Fill(int count)
    {
        if (_bufferLength - _cursor >= count)
        {
            return true;
        }

        var position = Position;
        if (count > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(count);
        }

        _bufferPosition = position;
        _cursor = 0;
        var want = (int)Math.Min(_buffer.Length, _end - position);
        _bufferLength = 0;
        while (_bufferLength < want)
        {
            var read = RandomAccess.Read(_handle, _buffer.AsSpan(_bufferLength, want - _bufferLength), position + _bufferLength);
            if (read == 0)
            {
                break;
            }

            _bufferLength += read;
        }

        return _bufferLength >= count;
    }
}
