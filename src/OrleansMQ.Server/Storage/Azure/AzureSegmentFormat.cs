using System.Buffers.Binary;

namespace OrleansMQ.Server.Storage;

/// <summary>What <see cref="AzureSegmentFormat.Next"/> found at a position of a segment blob.</summary>
internal enum SegmentItem
{
    /// <summary>A record frame whose length and CRC are valid.</summary>
    Record,

    /// <summary>A fence frame: an instance took ownership of the partition here.</summary>
    Fence,

    /// <summary>The seal frame: the segment is closed, and the frame summarises it.</summary>
    Seal,

    /// <summary>The data ends exactly at an item boundary.</summary>
    End,

    /// <summary>The data ends inside the item (its full length, when known, is in <c>itemLength</c>).</summary>
    Incomplete,

    /// <summary>A length field is out of range.</summary>
    BadLength,

    /// <summary>A CRC does not match, the record format is unknown, or a control frame's trailer is wrong.</summary>
    BadChecksum,
}

/// <summary>The summary a seal frame stores, so opening a partition reads a sealed segment's tail instead of all of it.</summary>
/// <param name="BaseOffset">The offset of the segment's first record.</param>
/// <param name="EndOffset">One past its last record.</param>
/// <param name="RecordBytes">The frame bytes of its records.</param>
/// <param name="DataEnd">The blob position where its valid items end (the seal, or any invalid bytes before it, start there).</param>
/// <param name="MinTimestampTicks">Its smallest record time stamp (UTC ticks); <see cref="long.MaxValue"/> when empty.</param>
/// <param name="MaxTimestampTicks">Its largest record time stamp; <see cref="long.MinValue"/> when empty.</param>
/// <param name="Index">Its sparse offset index.</param>
internal sealed record SealSummary(long BaseOffset, long EndOffset, long RecordBytes, long DataEnd, long MinTimestampTicks, long MaxTimestampTicks, AzureIndexEntry[] Index);

/// <summary>
/// The layout of a segment blob of the Azure log: a sequence of items, each either a record frame exactly as
/// <see cref="LogRecordCodec"/> writes it (so the record CRCs and size measure are shared with the other backends) or a
/// control frame. Every Append Block request carries whole items, so a block boundary is always an item boundary.
/// </summary>
/// <remarks>
/// <code>
/// control frame  u32 tag | u32 length | u32 crc32c(payload) | payload | u32 frameLength | u32 tag
/// fence payload  u8 version=1 | 16 bytes instance id | i64 next offset | i64 UTC ticks written
/// seal payload   u8 version=1 | i64 baseOffset | i64 endOffset | i64 recordBytes | i64 dataEnd | i64 minTicks | i64 maxTicks
///                | i32 n | n × (i64 offset, i64 blobPosition, i64 logicalPosition, i64 maxTicks)
/// </code>
/// A record frame starts with its payload length, below 64 MiB, and the tags are above it, so the first four bytes tell
/// the kinds apart. The trailer repeats the frame length so the seal, always the last item, can be found from the blob's
/// end with one small ranged read.
/// </remarks>
internal static class AzureSegmentFormat
{
    /// <summary>Tag of a fence frame.</summary>
    public const uint FenceTag = 0xF0E5_0001;

    /// <summary>Tag of a seal frame.</summary>
    public const uint SealTag = 0xF0E5_0002;

    /// <summary>Bytes before a control frame's payload.</summary>
    public const int ControlHeaderSize = 12;

    /// <summary>Bytes after a control frame's payload.</summary>
    public const int ControlTrailerSize = 8;

    /// <summary>Bytes of a whole fence frame.</summary>
    public const int FenceFrameSize = ControlHeaderSize + FencePayloadSize + ControlTrailerSize;

    private const byte Version = 1;
    private const int FencePayloadSize = 1 + 16 + 8 + 8;
    private const int SealFixedSize = 1 + (6 * 8) + 4;
    private const int IndexEntrySize = 32;

    /// <summary>The largest seal frame a segment with these settings can need.</summary>
    public static long MaxSealFrameSize(long segmentBytes, int maxAppendBytes, int indexIntervalBytes) =>
        ControlHeaderSize + SealFixedSize + ControlTrailerSize
        + ((Math.Max(segmentBytes, maxAppendBytes) / indexIntervalBytes) + 2) * IndexEntrySize;

    /// <summary>Writes a fence frame into <paramref name="destination"/> (<see cref="FenceFrameSize"/> bytes).</summary>
    public static void WriteFence(Span<byte> destination, Guid instanceId, long nextOffset, long utcTicks)
    {
        var payload = destination.Slice(ControlHeaderSize, FencePayloadSize);
        payload[0] = Version;
        instanceId.TryWriteBytes(payload[1..]);
        BinaryPrimitives.WriteInt64LittleEndian(payload[17..], nextOffset);
        BinaryPrimitives.WriteInt64LittleEndian(payload[25..], utcTicks);
        WriteControlEnvelope(destination[..FenceFrameSize], FenceTag);
    }

    /// <summary>The instance id in a fence frame's payload (as returned by <see cref="Next"/>); null when it is not a valid fence payload.</summary>
    public static Guid? ReadFenceInstance(ReadOnlySpan<byte> payload) =>
        payload.Length == FencePayloadSize && payload[0] == Version ? new Guid(payload.Slice(1, 16)) : null;

    /// <summary>The seal frame of <paramref name="summary"/>.</summary>
    public static byte[] CreateSeal(SealSummary summary)
    {
        var frame = new byte[ControlHeaderSize + SealFixedSize + (summary.Index.Length * IndexEntrySize) + ControlTrailerSize];
        var payload = frame.AsSpan(ControlHeaderSize, frame.Length - ControlHeaderSize - ControlTrailerSize);
        payload[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(payload[1..], summary.BaseOffset);
        BinaryPrimitives.WriteInt64LittleEndian(payload[9..], summary.EndOffset);
        BinaryPrimitives.WriteInt64LittleEndian(payload[17..], summary.RecordBytes);
        BinaryPrimitives.WriteInt64LittleEndian(payload[25..], summary.DataEnd);
        BinaryPrimitives.WriteInt64LittleEndian(payload[33..], summary.MinTimestampTicks);
        BinaryPrimitives.WriteInt64LittleEndian(payload[41..], summary.MaxTimestampTicks);
        BinaryPrimitives.WriteInt32LittleEndian(payload[49..], summary.Index.Length);
        var pos = SealFixedSize;
        foreach (var entry in summary.Index)
        {
            BinaryPrimitives.WriteInt64LittleEndian(payload[pos..], entry.Offset);
            BinaryPrimitives.WriteInt64LittleEndian(payload[(pos + 8)..], entry.BlobPosition);
            BinaryPrimitives.WriteInt64LittleEndian(payload[(pos + 16)..], entry.LogicalPosition);
            BinaryPrimitives.WriteInt64LittleEndian(payload[(pos + 24)..], entry.MaxTimestampTicks);
            pos += IndexEntrySize;
        }

        WriteControlEnvelope(frame, SealTag);
        return frame;
    }

    /// <summary>Parses a seal payload whose CRC was checked; null when its content is inconsistent.</summary>
    public static SealSummary? ParseSeal(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < SealFixedSize || payload[0] != Version)
        {
            return null;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(payload[49..]);
        if (count < 0 || (long)count * IndexEntrySize != payload.Length - SealFixedSize)
        {
            return null;
        }

        var index = new AzureIndexEntry[count];
        for (int i = 0, pos = SealFixedSize; i < count; i++, pos += IndexEntrySize)
        {
            index[i] = new AzureIndexEntry(
                BinaryPrimitives.ReadInt64LittleEndian(payload[pos..]),
                BinaryPrimitives.ReadInt64LittleEndian(payload[(pos + 8)..]),
                BinaryPrimitives.ReadInt64LittleEndian(payload[(pos + 16)..]),
                BinaryPrimitives.ReadInt64LittleEndian(payload[(pos + 24)..]));
        }

        var summary = new SealSummary(
            BinaryPrimitives.ReadInt64LittleEndian(payload[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[17..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[25..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[33..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[41..]),
            index);
        return summary.EndOffset >= summary.BaseOffset && summary.RecordBytes >= 0 && summary.DataEnd >= 0
            && (count > 0) == (summary.EndOffset > summary.BaseOffset) ? summary : null;
    }

    /// <summary>
    /// If <paramref name="tail"/> (the last bytes of a blob) ends with a control frame's trailer, the length of that frame;
    /// otherwise 0.
    /// </summary>
    public static int TrailingSealLength(ReadOnlySpan<byte> tail)
    {
        if (tail.Length < ControlTrailerSize || BinaryPrimitives.ReadUInt32LittleEndian(tail[^4..]) != SealTag)
        {
            return 0;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(tail[^8..]);
        return length is >= ControlHeaderSize + SealFixedSize + ControlTrailerSize and <= AzureBlobLimits.MaxAppendBlockBytes ? (int)length : 0;
    }

    /// <summary>
    /// Reads the item at <paramref name="position"/> of <paramref name="data"/>. <paramref name="itemLength"/> is the item's
    /// whole length (for <see cref="SegmentItem.Incomplete"/>: at least how many bytes from <paramref name="position"/> are
    /// needed to read it); <paramref name="payload"/> is the record or control payload.
    /// </summary>
    public static SegmentItem Next(ReadOnlySpan<byte> data, int position, out int itemLength, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        itemLength = 0;
        var left = data.Length - position;
        if (left == 0)
        {
            return SegmentItem.End;
        }

        if (left < LogRecordCodec.FrameHeaderSize)
        {
            itemLength = ControlHeaderSize;
            return SegmentItem.Incomplete;
        }

        var item = data[position..];
        var tag = BinaryPrimitives.ReadUInt32LittleEndian(item);
        if (tag is FenceTag or SealTag)
        {
            if (left < ControlHeaderSize)
            {
                itemLength = ControlHeaderSize;
                return SegmentItem.Incomplete;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(item[4..]);
            if (length > AzureBlobLimits.MaxAppendBlockBytes)
            {
                return SegmentItem.BadLength;
            }

            itemLength = ControlHeaderSize + (int)length + ControlTrailerSize;
            if (left < itemLength)
            {
                return SegmentItem.Incomplete;
            }

            var candidate = item.Slice(ControlHeaderSize, (int)length);
            var trailer = item.Slice(ControlHeaderSize + (int)length, ControlTrailerSize);
            if (Crc32C.Compute(candidate) != BinaryPrimitives.ReadUInt32LittleEndian(item[8..])
                || BinaryPrimitives.ReadUInt32LittleEndian(trailer) != (uint)itemLength
                || BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) != tag)
            {
                return SegmentItem.BadChecksum;
            }

            payload = candidate;
            return tag == FenceTag ? SegmentItem.Fence : SegmentItem.Seal;
        }

        if (!LogRecordCodec.TryReadFrameHeader(item, out var payloadLength, out var crc))
        {
            return SegmentItem.BadLength;
        }

        itemLength = LogRecordCodec.FrameHeaderSize + payloadLength;
        if (left < itemLength)
        {
            return SegmentItem.Incomplete;
        }

        var recordPayload = item.Slice(LogRecordCodec.FrameHeaderSize, payloadLength);
        if (!LogRecordCodec.IsValidPayload(recordPayload, crc))
        {
            return SegmentItem.BadChecksum;
        }

        payload = recordPayload;
        return SegmentItem.Record;
    }

    /// <summary>A short description of a bad item, for logs and exceptions.</summary>
    public static string Describe(SegmentItem item) => item switch
    {
        SegmentItem.Incomplete => "a truncated item",
        SegmentItem.BadLength => "an invalid length",
        SegmentItem.BadChecksum => "a CRC mismatch",
        _ => item.ToString(),
    };

    private static void WriteControlEnvelope(Span<byte> frame, uint tag)
    {
        var payloadLength = frame.Length - ControlHeaderSize - ControlTrailerSize;
        var payload = frame.Slice(ControlHeaderSize, payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, tag);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], Crc32C.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(frame[^8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[^4..], tag);
    }
}
