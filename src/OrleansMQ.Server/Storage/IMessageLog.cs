namespace OrleansMQ.Server.Storage;

/// <summary>
/// The durable, append-only log of one partition. Offsets are dense and monotonic from 0.
/// <para>
/// Concurrency: <see cref="AppendAsync"/> may be called again before earlier appends complete (the partition grain is
/// reentrant so that concurrent publishes share one durable write). Offsets are assigned in call order, synchronously,
/// and appends complete in offset order. Reads only ever return records that are durable.
/// </para>
/// </summary>
public interface IMessageLog : IAsyncDisposable
{
    /// <summary>The first retained offset.</summary>
    long LowWatermark { get; }

    /// <summary>One past the last durable offset: the offset the next append that becomes durable will start at.</summary>
    long HighWatermark { get; }

    /// <summary>Bytes held by the log on its storage.</summary>
    long SizeBytes { get; }

    /// <summary>
    /// Appends <paramref name="records"/> and completes once they are durable (the backend's group commit). Returns the
    /// offset of the first record; record i gets offset first + i (also written into <see cref="LogRecord.Offset"/>).
    /// </summary>
    ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads durable records starting at <paramref name="fromOffset"/> (clamped up to <see cref="LowWatermark"/>): at most
    /// <paramref name="maxRecords"/>, and stops once about <paramref name="maxBytes"/> were read (always at least one record
    /// when one is available). Empty at or past <see cref="HighWatermark"/>. A read that reaches the high watermark may
    /// throw <see cref="LogFencedException"/> (see <see cref="VerifyOwnershipAsync"/>).
    /// </summary>
    ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks that this instance still owns the partition, so that its <see cref="HighWatermark"/> is not a stale view:
    /// a backend shared between silos (Azure) asks the storage whether another instance wrote since (at most once per
    /// its check interval, and not while this instance's own appends are in flight, whose outcome proves or disproves
    /// ownership anyway) and throws <see cref="LogFencedException"/> when one did. Reads that reach the high watermark
    /// make the same check. Backends owned by one process only complete at once.
    /// </summary>
    ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default);

    /// <summary>The first offset whose time stamp is at or after <paramref name="timestamp"/>; <see cref="HighWatermark"/> when none is.</summary>
    ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default);

    /// <summary>About how many bytes the records from <paramref name="offset"/> to the end take (for backlog limits).</summary>
    long EstimateBytesFrom(long offset);

    /// <summary>
    /// Deletes whole segments (never part of one) that satisfy the request. Returns the new <see cref="LowWatermark"/>.
    /// The active (last) segment is never deleted.
    /// </summary>
    ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default);

    /// <summary>Deletes all of the log's data. The instance cannot be used afterwards.</summary>
    ValueTask DeleteAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// What retention may delete. A segment is deleted when it is wholly below <see cref="DeleteBelowOffset"/>, or all its
/// records are older than <see cref="DeleteOlderThan"/>, or (oldest first) while the log is bigger than <see cref="MaxBytes"/>.
/// </summary>
public sealed record RetentionRequest
{
    /// <summary>Delete segments whose last record is older than this time.</summary>
    public DateTimeOffset? DeleteOlderThan { get; init; }

    /// <summary>Delete the oldest segments while the log is bigger than this.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>Delete segments whose last offset is below this (e.g. everything acknowledged by all subscriptions).</summary>
    public long? DeleteBelowOffset { get; init; }
}

/// <summary>Opens (and recovers) partition logs of one backend.</summary>
public interface IMessageLogFactory
{
    /// <summary>Opens the log of <paramref name="topic"/>/<paramref name="partition"/>, creating it when new and recovering it when not.</summary>
    ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default);
}

/// <summary>Thrown when a log finds a record it cannot trust (CRC mismatch, bad length) where it cannot simply cut a torn tail.</summary>
public sealed class LogCorruptionException(string message) : IOException(message);
