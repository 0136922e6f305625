namespace OrleansMQ.Server.Storage;

/// <summary>The records of one in-memory partition; outlives the <see cref="InMemoryMessageLog"/> instances that open it.</summary>
internal sealed class InMemoryPartitionData
{
    /// <summary>Guards every field, of this object and of its segments.</summary>
    public object Sync { get; } = new();

    /// <summary>Segments, oldest first; never empty. The last is the active one.</summary>
    public List<InMemorySegment> Segments { get; } = [new InMemorySegment(0)];

    /// <summary>The offset the next record gets.</summary>
    public long NextOffset { get; set; }

    /// <summary>Sum of the segments' sizes.</summary>
    public long TotalBytes { get; set; }

    /// <summary>Incremented by every open; an instance whose epoch is older was superseded.</summary>
    public int Epoch { get; set; }

    /// <summary>Set by <see cref="IMessageLog.DeleteAsync"/>.</summary>
    public bool Deleted { get; set; }
}

/// <summary>A group of consecutive in-memory records, deleted as a whole by retention.</summary>
internal sealed class InMemorySegment(long baseOffset)
{
    public long BaseOffset { get; } = baseOffset;

    public List<LogRecord> Records { get; } = [];

    /// <summary>Frame size of each record, as <see cref="LogRecordCodec.GetFrameSize"/> measures it.</summary>
    public List<int> FrameSizes { get; } = [];

    public long Bytes { get; set; }

    public long MaxTimestampTicks { get; set; } = long.MinValue;

    public long EndOffset => BaseOffset + Records.Count;
}
