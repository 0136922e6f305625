using System.Globalization;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// One segment blob of an <see cref="AzureMessageLog"/> and what the log knows about it. Only durable state is kept here:
/// every field describes bytes the service acknowledged. Mutable fields are guarded by the owning log's lock.
/// </summary>
internal sealed class AzureSegment(string blobName, long baseOffset, int indexInterval, AzureIndexEntry[]? index = null)
{
    /// <summary>The blob name: <c>{topic}/{partition}/{baseOffset:D20}</c>.</summary>
    public string BlobName { get; } = blobName;

    /// <summary>The offset of the segment's first record.</summary>
    public long BaseOffset { get; } = baseOffset;

    /// <summary>The sparse offset index.</summary>
    public AzureSegmentIndex Index { get; } = new(indexInterval, index);

    /// <summary>One past the last durable record.</summary>
    public long EndOffset { get; set; } = baseOffset;

    /// <summary>Frame bytes of the durable records (the size measure shared by every backend).</summary>
    public long RecordBytes { get; set; }

    /// <summary>The blob position where the valid items end: reads stop here. Below <see cref="BlobLength"/> after a cut tail or the seal.</summary>
    public long DataEnd { get; set; }

    /// <summary>The blob's length: the append position of the next block.</summary>
    public long BlobLength { get; set; }

    /// <summary>Blocks in the blob.</summary>
    public long CommittedBlocks { get; set; }

    /// <summary>Whether the segment ends with a seal frame (no more appends).</summary>
    public bool Sealed { get; set; }

    /// <summary>Smallest record time stamp, UTC ticks.</summary>
    public long MinTimestampTicks { get; set; } = long.MaxValue;

    /// <summary>Largest record time stamp, UTC ticks.</summary>
    public long MaxTimestampTicks { get; set; } = long.MinValue;

    /// <summary>Whether the segment holds a record.</summary>
    public bool HasRecords => EndOffset > BaseOffset;

    /// <summary>Set when the records from this offset to the next segment cannot be read (they throw <see cref="LogCorruptionException"/>).</summary>
    public long? CorruptFromOffset { get; private set; }

    /// <summary>Why, when <see cref="CorruptFromOffset"/> is set.</summary>
    public string? CorruptionReason { get; private set; }

    /// <summary>Notes a durable record whose frame starts at <paramref name="blobPosition"/>.</summary>
    public void AddRecord(long offset, long blobPosition, int frameSize, long timestampTicks)
    {
        Index.Add(offset, blobPosition, RecordBytes, timestampTicks);
        EndOffset = offset + 1;
        RecordBytes += frameSize;
        MinTimestampTicks = Math.Min(MinTimestampTicks, timestampTicks);
        MaxTimestampTicks = Math.Max(MaxTimestampTicks, timestampTicks);
    }

    /// <summary>Marks the records from <paramref name="offset"/> on unreadable.</summary>
    public void MarkCorrupt(long offset, string reason)
    {
        CorruptFromOffset = offset;
        CorruptionReason = reason;
    }

    /// <summary>The summary stored in the seal frame.</summary>
    public SealSummary ToSummary() => new(BaseOffset, EndOffset, RecordBytes, DataEnd, MinTimestampTicks, MaxTimestampTicks, Index.ToArray());

    /// <summary>A segment restored from its seal summary.</summary>
    public static AzureSegment FromSummary(string blobName, SealSummary summary, long blobLength, int indexInterval) =>
        new(blobName, summary.BaseOffset, indexInterval, summary.Index)
        {
            EndOffset = summary.EndOffset,
            RecordBytes = summary.RecordBytes,
            DataEnd = summary.DataEnd,
            BlobLength = blobLength,
            Sealed = true,
            MinTimestampTicks = summary.MinTimestampTicks,
            MaxTimestampTicks = summary.MaxTimestampTicks,
        };

    /// <summary>The blob name of the segment starting at <paramref name="baseOffset"/>, under a partition <paramref name="prefix"/>.</summary>
    public static string Name(string prefix, long baseOffset) => prefix + baseOffset.ToString("D20", CultureInfo.InvariantCulture);

    /// <summary>The blob-name prefix of a partition's segments: <c>{topic}/{partition}/</c>.</summary>
    public static string Prefix(string topic, int partition) => $"{topic}/{partition.ToString(CultureInfo.InvariantCulture)}/";

    /// <summary>Parses the base offset out of a segment blob name; false for any other blob.</summary>
    public static bool TryParseName(string blobName, string prefix, out long baseOffset)
    {
        baseOffset = 0;
        return blobName.Length == prefix.Length + 20
            && blobName.StartsWith(prefix, StringComparison.Ordinal)
            && long.TryParse(blobName.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset);
    }
}
