using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// One segment file of a <see cref="FileMessageLog"/> and what the log knows about it. Mutable fields are guarded by the
/// owning log's lock, except <see cref="NeedsDirectorySync"/> (writer thread only).
/// </summary>
internal sealed class FileSegment(string path, long baseOffset, SafeFileHandle handle, int indexInterval)
{
    /// <summary>File name extension of segment files.</summary>
    public const string Extension = ".log";

    /// <summary>The file path.</summary>
    public string Path { get; } = path;

    /// <summary>The offset of the segment's first record (also its file name).</summary>
    public long BaseOffset { get; } = baseOffset;

    /// <summary>
    /// The open file. Readers take a reference (<see cref="System.Runtime.InteropServices.SafeHandle.DangerousAddRef"/>) around each read, so retention
    /// can dispose it at any time: the OS handle closes once the last reader is done.
    /// </summary>
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>The sparse offset index.</summary>
    public SparseOffsetIndex Index { get; } = new(indexInterval);

    /// <summary>The file length once every assigned append is written.</summary>
    public long AssignedBytes { get; set; }

    /// <summary>The file length known durable (written, and flushed under <see cref="FsyncPolicy.Always"/>); reads stop here.</summary>
    public long DurableBytes { get; set; }

    /// <summary>One past the last offset in the segment (assigned, not necessarily durable).</summary>
    public long EndOffset { get; set; } = baseOffset;

    /// <summary>Smallest record time stamp, UTC ticks.</summary>
    public long MinTimestampTicks { get; set; } = long.MaxValue;

    /// <summary>Largest record time stamp, UTC ticks.</summary>
    public long MaxTimestampTicks { get; set; } = long.MinValue;

    /// <summary>The lowest fan-out store offset a reference record in this segment names (<see cref="long.MaxValue"/>: none).</summary>
    public long MinStoreReference { get; set; } = long.MaxValue;

    /// <summary>The message bytes (key to body) of the fan-out store records this segment's references name.</summary>
    public long ReferencedBytes { get; set; }

    /// <summary>Whether any record was placed in the segment.</summary>
    public bool HasRecords => MaxTimestampTicks != long.MinValue;

    /// <summary>
    /// Set when recovery found an invalid record in this sealed segment: records from this offset to the segment's end
    /// cannot be read (they throw <see cref="LogCorruptionException"/>).
    /// </summary>
    public long? CorruptFromOffset { get; private set; }

    /// <summary>What recovery found wrong, with the file position.</summary>
    public string? CorruptionReason { get; private set; }

    /// <summary>The segment's file was created but its directory entry not yet flushed.</summary>
    public bool NeedsDirectorySync { get; set; }

    /// <summary>The segment's path relative to the log root, UTF-8, as the journal names it (writer thread only; set on first use).</summary>
    public byte[]? JournalName { get; set; }

    /// <summary>Notes a record placed at <paramref name="position"/>.</summary>
    public void AddRecord(long offset, long position, int frameSize, long timestampTicks)
    {
        Index.Add(offset, position, timestampTicks);
        EndOffset = offset + 1;
        AssignedBytes = position + frameSize;
        MinTimestampTicks = Math.Min(MinTimestampTicks, timestampTicks);
        MaxTimestampTicks = Math.Max(MaxTimestampTicks, timestampTicks);
    }

    /// <summary>Marks the segment unreadable from <paramref name="offset"/> (recovery of a sealed segment).</summary>
    public void MarkCorrupt(long offset, long position, string reason)
    {
        CorruptFromOffset = offset;
        CorruptionReason = $"{reason} at byte {position}";
    }

    /// <summary>The file name of a segment starting at <paramref name="baseOffset"/>.</summary>
    public static string FileName(long baseOffset) => baseOffset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Extension;

    /// <summary>Parses a segment file name; false for any other file.</summary>
    public static bool TryParseFileName(string fileName, out long baseOffset)
    {
        baseOffset = 0;
        return fileName.Length == 20 + Extension.Length
            && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out baseOffset);
    }
}
