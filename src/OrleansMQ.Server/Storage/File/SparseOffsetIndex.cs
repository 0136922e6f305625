namespace OrleansMQ.Server.Storage;

/// <summary>One entry of a <see cref="SparseOffsetIndex"/>: where a record starts, and the latest time stamp of its chunk.</summary>
/// <param name="Offset">The offset of the first record of the chunk.</param>
/// <param name="Position">The file position of that record's frame.</param>
/// <param name="MaxTimestampTicks">The largest time stamp (UTC ticks) of the records in the chunk, up to the next entry.</param>
internal readonly record struct IndexEntry(long Offset, long Position, long MaxTimestampTicks);

/// <summary>
/// A sparse, in-memory offset index of one segment: an entry about every <c>interval</c> bytes, so a read seeks to within
/// one interval of its first record, and a time-stamp lookup scans only chunks that can hold a late enough record (time
/// stamps are producer-set, so they are not monotonic and cannot be binary searched). Not thread-safe: the owning log guards it.
/// </summary>
internal sealed class SparseOffsetIndex(int interval)
{
    private IndexEntry[] _entries = new IndexEntry[8];

    /// <summary>The number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>The entry at <paramref name="index"/>.</summary>
    public IndexEntry this[int index] => _entries[index];

    /// <summary>Notes a record; records must come in offset order.</summary>
    public void Add(long offset, long position, long timestampTicks)
    {
        if (Count > 0 && position < _entries[Count - 1].Position + interval)
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

        _entries[Count++] = new IndexEntry(offset, position, timestampTicks);
    }

    /// <summary>The last entry at or before <paramref name="offset"/>; the first entry when all are after it. Needs <see cref="Count"/> &gt; 0.</summary>
    public IndexEntry Floor(long offset)
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

    /// <summary>The index of the first entry at or after <paramref name="start"/> whose chunk may hold a record at or after <paramref name="timestampTicks"/>; -1 when none.</summary>
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
}
