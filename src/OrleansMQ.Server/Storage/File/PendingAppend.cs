namespace OrleansMQ.Server.Storage;

/// <summary>A contiguous range of an append's buffer that goes to one segment file at one position.</summary>
internal readonly record struct WriteChunk(FileSegment Segment, long FilePosition, int BufferOffset, int Length);

/// <summary>
/// One <see cref="FileMessageLog.AppendAsync"/> call on its way through the <see cref="FileLogWriter"/>: the encoded frames
/// (a pooled buffer, returned by the writer), where they go, and the completion the caller awaits.
/// </summary>
internal sealed class PendingAppend(FileMessageLog log, long firstOffset, int count, byte[] buffer, int length, WriteChunk[] chunks)
    : TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public FileMessageLog Log { get; } = log;

    public long FirstOffset { get; } = firstOffset;

    /// <summary>One past the last offset of the append.</summary>
    public long EndOffset { get; } = firstOffset + count;

    /// <summary>The encoded frames; rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>.</summary>
    public byte[] Buffer { get; } = buffer;

    /// <summary>Bytes used in <see cref="Buffer"/>.</summary>
    public int Length { get; } = length;

    public WriteChunk[] Chunks { get; } = chunks;

    /// <summary>Whether the append holds reference records (which the writer fails once the fan-out store failed).</summary>
    public bool HasReferences { get; init; }

    private int _bufferReturned;

    /// <summary>Returns <see cref="Buffer"/> to the pool, once (a pooled array returned twice would be handed to two renters).</summary>
    public void ReturnBuffer()
    {
        if (Interlocked.Exchange(ref _bufferReturned, 1) == 0)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(Buffer);
        }
    }
}
