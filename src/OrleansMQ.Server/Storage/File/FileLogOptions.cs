using Microsoft.Extensions.Options;

namespace OrleansMQ.Server.Storage;

/// <summary>Options of the file segment log (<see cref="FileMessageLogFactory"/>).</summary>
public sealed class FileLogOptions
{
    /// <summary>The default <see cref="SegmentBytes"/>: 64 MiB.</summary>
    public const long DefaultSegmentBytes = 64L * 1024 * 1024;

    /// <summary>The default <see cref="MaxBytesPerCommit"/>: 4 MiB.</summary>
    public const int DefaultMaxBytesPerCommit = 4 * 1024 * 1024;

    /// <summary>The default <see cref="IndexIntervalBytes"/>: 4 KiB.</summary>
    public const int DefaultIndexIntervalBytes = 4 * 1024;

    /// <summary>
    /// The root directory. Partition logs live in <c>{DataDirectory}/topics/{topic}/{partition}/{baseOffset:D20}.log</c>.
    /// Required.
    /// </summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>
    /// Size in bytes after which a new segment file starts (a record never straddles two segments, so a segment can be
    /// larger when one record alone exceeds it). Retention deletes whole segments, so this is also its granularity.
    /// Default 64 MiB; at least 1 KiB.
    /// </summary>
    public long SegmentBytes { get; set; } = DefaultSegmentBytes;

    /// <summary>
    /// Upper bound of bytes written per commit round (one fsync per touched file). Bounds the latency added to the appends
    /// that wait behind a large round; a single append larger than this still goes in one round. Default 4 MiB; at least 4 KiB.
    /// </summary>
    public int MaxBytesPerCommit { get; set; } = DefaultMaxBytesPerCommit;

    /// <summary>
    /// How many files a commit round fsyncs at once when it touched several (one per partition written in the round): the
    /// writer thread and up to this many − 1 helper threads each flush one file and complete its appends as soon as it is
    /// durable. Concurrent fsyncs overlap their waits for the device (measured on this machine, 8 files: ~0.49 ms a round
    /// in parallel vs ~0.84 ms one after another). Default 8; 1 flushes one file after another; at most 64.
    /// </summary>
    public int ParallelFlushes { get; set; } = DefaultParallelFlushes;

    /// <summary>The default <see cref="ParallelFlushes"/>: 8.</summary>
    public const int DefaultParallelFlushes = 8;

    /// <summary>
    /// Under <see cref="FsyncPolicy.Always"/>: make a commit round durable with one write and <c>fdatasync</c> of a silo-wide
    /// journal (<c>{DataDirectory}/journal.wal</c>) instead of one <c>fsync</c> per partition file the round touched; the
    /// segment files are flushed when the journal is full, before a partition is deleted and at shutdown, and after a
    /// crash the journal is replayed into them before any log opens (see <see cref="FileJournal"/>). Same durability,
    /// far fewer flushes when many partitions are written at once. A journal left by an earlier run is always replayed,
    /// whatever this says. Default false.
    /// </summary>
    public bool Journal { get; set; }

    /// <summary>The default <see cref="JournalBytes"/>: 64 MiB.</summary>
    public const long DefaultJournalBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Size of the journal file, reused in place: when a round does not fit in what is left, every segment file written
    /// since the last checkpoint is flushed and the journal starts over. A round larger than the journal bypasses it
    /// (its files are flushed directly). Default 64 MiB; 1 MiB to 4 GiB.
    /// </summary>
    public long JournalBytes { get; set; } = DefaultJournalBytes;

    /// <summary>
    /// Store a fan-out's message once: when an exchange routes one message unchanged to several queues or topics whose
    /// partitions are in this silo, the message (key, headers, body) goes once into a silo-wide fan-out store
    /// (<c>{DataDirectory}/fanout</c>) and each queue gets a 51-byte reference record, which reads resolve. The store
    /// keeps a message while any log may still reference it. Needs <see cref="Journal"/> under
    /// <see cref="FsyncPolicy.Always"/> (the journal's lock gives the silo the directory to itself); without it every copy
    /// is written in full. Default true; false writes every copy in full too (a store written earlier is still read).
    /// </summary>
    public bool StoreFanOutOnce { get; set; } = true;

    /// <summary>When appended data is forced to disk. Default <see cref="FsyncPolicy.Always"/>.</summary>
    public FsyncPolicy FsyncPolicy { get; set; } = FsyncPolicy.Always;

    /// <summary>
    /// Bytes between two entries of the in-memory sparse offset index: a read scans at most about this much before reaching
    /// its first record. Default 4 KiB; between 256 bytes and 1 MiB.
    /// </summary>
    public int IndexIntervalBytes { get; set; } = DefaultIndexIntervalBytes;
}

/// <summary>Validates <see cref="FileLogOptions"/>.</summary>
public sealed class FileLogOptionsValidator : IValidateOptions<FileLogOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FileLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.DataDirectory)} is required.");
        }

        if (options.SegmentBytes < 1024)
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.SegmentBytes)} is {options.SegmentBytes}; it must be at least 1024.");
        }

        if (options.MaxBytesPerCommit < 4096)
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.MaxBytesPerCommit)} is {options.MaxBytesPerCommit}; it must be at least 4096.");
        }

        if (options.ParallelFlushes is < 1 or > 64)
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.ParallelFlushes)} is {options.ParallelFlushes}; it must be between 1 and 64.");
        }

        if (options.JournalBytes is < 1024 * 1024 or > 4L * 1024 * 1024 * 1024)
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.JournalBytes)} is {options.JournalBytes}; it must be between 1048576 (1 MiB) and 4294967296 (4 GiB).");
        }

        if (options.IndexIntervalBytes is < 256 or > 1024 * 1024)
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.IndexIntervalBytes)} is {options.IndexIntervalBytes}; it must be between 256 and 1048576.");
        }

        if (!Enum.IsDefined(options.FsyncPolicy))
        {
            failures.Add($"{nameof(FileLogOptions)}.{nameof(FileLogOptions.FsyncPolicy)} has the unknown value {options.FsyncPolicy}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
