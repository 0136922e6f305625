using Microsoft.Extensions.Options;

namespace OrleansMQ.Server.Storage;

/// <summary>Options of <see cref="FileGrainStorage"/>.</summary>
public sealed class FileGrainStorageOptions
{
    /// <summary>The directory holding the state files (one sub-directory per state name). Required.</summary>
    public string RootDirectory { get; set; } = string.Empty;

    /// <summary>
    /// When true, clearing a state deletes its file, so the next write starts at version 1 again and a stale writer still
    /// holding an ETag from before the clear could match it. When false (the default), clearing writes a small tombstone
    /// that keeps the version counting up, so ETags are never reused.
    /// </summary>
    public bool DeleteStateOnClear { get; set; }

    /// <summary>
    /// Whether writes are fsync'd (file and directory) before they complete. <see cref="FsyncPolicy.Never"/> is for
    /// benchmarks only: an OS crash can lose or roll back acknowledged state.
    /// </summary>
    public FsyncPolicy FsyncPolicy { get; set; } = FsyncPolicy.Always;

    /// <summary>
    /// Group-commit changes through a write-ahead journal (<c>state.wal</c> and <c>state.2.wal</c> under the root, taking
    /// turns): one fdatasync for all the changes queued meanwhile instead of two fsyncs and a rename each; the state files
    /// are replaced in the background when a journal file is full, and at dispose. Only with <see cref="FsyncPolicy.Always"/>. Default false (the silo turns it on with
    /// <c>OrleansMQ:StateJournal</c>).
    /// </summary>
    public bool Journal { get; set; }

    /// <summary>The size of each of the journal's two files (<see cref="Journal"/>). Default 16 MiB; 64 KiB to 1 GiB.</summary>
    public long JournalBytes { get; set; } = 16L << 20;

    /// <summary>Dedicated threads doing the blocking writes and fsyncs (never thread-pool threads). Default 2; 1 to 64.</summary>
    public int WriterThreads { get; set; } = 2;
}

/// <summary>Validates <see cref="FileGrainStorageOptions"/>.</summary>
public sealed class FileGrainStorageOptionsValidator : IValidateOptions<FileGrainStorageOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, FileGrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            failures.Add($"{nameof(FileGrainStorageOptions)}.{nameof(FileGrainStorageOptions.RootDirectory)} is required (storage '{name}').");
        }

        if (options.WriterThreads is < 1 or > 64)
        {
            failures.Add($"{nameof(FileGrainStorageOptions)}.{nameof(FileGrainStorageOptions.WriterThreads)} is {options.WriterThreads}; it must be between 1 and 64 (storage '{name}').");
        }

        if (options.JournalBytes is < 64 * 1024 or > 1L << 30)
        {
            failures.Add($"{nameof(FileGrainStorageOptions)}.{nameof(FileGrainStorageOptions.JournalBytes)} is {options.JournalBytes}; it must be between 64 KiB and 1 GiB (storage '{name}').");
        }

        if (!Enum.IsDefined(options.FsyncPolicy))
        {
            failures.Add($"{nameof(FileGrainStorageOptions)}.{nameof(FileGrainStorageOptions.FsyncPolicy)} has the unknown value {options.FsyncPolicy} (storage '{name}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
