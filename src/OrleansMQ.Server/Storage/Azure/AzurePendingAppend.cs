namespace OrleansMQ.Server.Storage;

/// <summary>
/// One <see cref="AzureMessageLog.AppendAsync"/> call waiting for the log's writer: its encoded frames (a pooled buffer,
/// returned once the append completes or fails) and the completion the caller awaits. The writer may spread it over
/// several Append Block requests (a block holds at most 4 MiB, and segments roll); it completes when its last record is
/// durable.
/// </summary>
internal sealed class AzurePendingAppend(long firstOffset, byte[] buffer, int[] frameSizes, int length)
    : TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    private int _bufferReturned;

    public long FirstOffset { get; } = firstOffset;

    /// <summary>The number of records.</summary>
    public int Count => FrameSizes.Length;

    /// <summary>The encoded frames, back to back; rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>.</summary>
    public byte[] Buffer { get; } = buffer;

    /// <summary>The frame size of each record.</summary>
    public int[] FrameSizes { get; } = frameSizes;

    /// <summary>Bytes used in <see cref="Buffer"/>.</summary>
    public int Length { get; } = length;

    /// <summary>Records already durable (writer only, then read under the log's lock).</summary>
    public int Written { get; set; }

    /// <summary>Bytes of <see cref="Buffer"/> already durable.</summary>
    public int WrittenBytes { get; set; }

    /// <summary>Returns <see cref="Buffer"/> to the pool, once.</summary>
    public void ReturnBuffer()
    {
        if (Interlocked.Exchange(ref _bufferReturned, 1) == 0)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(Buffer);
        }
    }
}
