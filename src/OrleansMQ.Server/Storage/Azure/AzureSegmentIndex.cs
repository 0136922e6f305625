namespace OrleansMQ.Server.Storage;

/// <summary>One entry of an <see cref="AzureSegmentIndex"/>.</summary>
/// <param name="Offset">The offset of the first record of the chunk.</param>
/// <param name="BlobPosition">Where that record's frame starts in the segment blob.</param>
/// <param name="LogicalPosition">The record bytes of the segment before it (for size estimates; excludes control frames).</param>
/// <param name="MaxTimestampTicks">The largest time stamp (UTC ticks) of the records in the chunk, up to the next entry.</param>
internal readonly record struct AzureIndexEntry(long Offset, long BlobPosition, long LogicalPosition, long MaxTimestampTicks);

/// <summary>
/// The sparse offset index of one segment blob: an entry about every <c>interval</c> record bytes, so a read downloads at
/// most about one interval before its first record, and a time-stamp lookup downloads only chunks that can hold a late
/// enough record (time stamps are producer-set, so not monotonic). Stored in the seal frame. Not thread-safe: the owning
/// log guards it.
/// </summary>
internal sealed class AzureSegmentIndex
{
    private readonly int _interval;
    private AzureIndexEntry[] _entries;

    public AzureSegmentIndex(int interval, AzureIndexEntry[]? entries = null)
    {
        _interval = interval;
        _entries = entries is { Length: > 0 } ? entries : new AzureIndexEntry[8];
        Count = entries?.Length ?? 0;
    }

    /// <summary>The number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>The entry at <paramref name="index"/>.</summary>
    public AzureIndexEntry this[int index] => _entries[index];

    /// <summary>Notes a record; records must come in offset order.</summary>
    public void Add(long offset, long blobPosition, long logicalPosition, long timestampTicks)
    {
        if (Count > 0 && logicalPosition < _entries[Count - 1].LogicalPosition + _interval)
        {
            ref var last = ref _entries[Count - 1];
            if (timestampTicks > last.MaxTimestampTicks)
            {
                last = last with { MaxTimestampTicks = timestampTicks };
            }

            return;
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        _entries[Count++] = new AzureIndexEntry(offset, blobPosition, logicalPosition, timestampTicks);
    }

    /// <summary>The last entry at or before <paramref name="offset"/>; the first when all are after it. Needs <see cref="Count"/> &gt; 0.</summary>
    public AzureIndexEntry Floor(long offset)
    {
        int lo = 0, hi = Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (_entries[mid].Offset <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return _entries[lo];
    }

    /// <summary>The first entry at or after <paramref name="start"/> whose chunk may hold a record at or after <paramref name="timestampTicks"/>; -1 when none.</summary>
    public int FindChunk(int start, long timestampTicks)
    {
        for (var i = start; i < Count; i++)
        {
            if (_entries[i].MaxTimestampTicks >= timestampTicks)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A copy of the entries (for the seal frame).</summary>
    public AzureIndexEntry[] ToArray() => _entries.AsSpan(0, Count).ToArray();
}
