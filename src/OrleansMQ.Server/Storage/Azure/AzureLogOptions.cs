using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Server.Storage;

/// <summary>Options of the Azure Blob Storage log (<see cref="AzureMessageLogFactory"/>).</summary>
public sealed class AzureLogOptions
{
    /// <summary>The default <see cref="NamePrefix"/>.</summary>
    public const string DefaultNamePrefix = "orleansmq";

    /// <summary>The default <see cref="SegmentBytes"/>: 16 MiB.</summary>
    public const long DefaultSegmentBytes = 16L * 1024 * 1024;

    /// <summary>The default <see cref="IndexIntervalBytes"/>: 64 KiB.</summary>
    public const int DefaultIndexIntervalBytes = 64 * 1024;

    /// <summary>
    /// A storage connection string. Used when <see cref="BlobServiceClient"/> is not set; one of the two is required.
    /// For Azurite on non-default ports give explicit endpoints (<c>UseDevelopmentStorage=true</c> assumes port 10000).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>A ready client (managed identity, custom retry or transport options). Takes precedence over <see cref="ConnectionString"/>.</summary>
    public BlobServiceClient? BlobServiceClient { get; set; }

    /// <summary>
    /// Prefix of the storage names this backend creates: the log container is <c>{NamePrefix}-log</c>, holding
    /// <c>{topic}/{partition}/{baseOffset:D20}</c> append blobs. Lower-case letters, digits and single hyphens, 3–59
    /// characters, starting with a letter or digit (Azure container naming). Default <c>orleansmq</c>.
    /// </summary>
    public string NamePrefix { get; set; } = DefaultNamePrefix;

    /// <summary>Create the container when it does not exist. Default true.</summary>
    public bool CreateContainerIfNotExists { get; set; } = true;

    /// <summary>
    /// Record bytes (encoded frames, <see cref="LogRecordCodec"/>) after which a new segment blob starts; retention deletes
    /// whole segments, and opening a partition downloads its active segment, so this bounds both. Default 16 MiB; 1 KiB–1 GiB.
    /// </summary>
    public long SegmentBytes { get; set; } = DefaultSegmentBytes;

    /// <summary>
    /// Most bytes sent in one Append Block request; a group commit packs the pending appends of a partition up to this.
    /// Also the largest record the log accepts. Default and maximum 4 MiB (<see cref="AzureBlobLimits.MaxAppendBlockBytes"/>);
    /// at least 4 KiB.
    /// </summary>
    public int MaxAppendBytes { get; set; } = AzureBlobLimits.MaxAppendBlockBytes;

    /// <summary>
    /// Most blocks per segment blob before it is sealed and a new one starts (the service refuses appends past
    /// <see cref="AzureBlobLimits.MaxBlocksPerAppendBlob"/>). Each open adds a fence block and sealing adds one.
    /// Default and maximum 50,000; at least 4. Tests lower it to exercise rolling.
    /// </summary>
    public int MaxBlocksPerSegment { get; set; } = AzureBlobLimits.MaxBlocksPerAppendBlob;

    /// <summary>
    /// Record bytes between two entries of a segment's sparse offset index (kept in memory and stored in the seal block):
    /// a read downloads at most about this much before its first record. Default 64 KiB; 256 bytes–4 MiB.
    /// </summary>
    public int IndexIntervalBytes { get; set; } = DefaultIndexIntervalBytes;

    /// <summary>
    /// Bytes of the most recently written records each open partition keeps in memory, so that consumers reading near the
    /// tail (the usual case) are served without a blob download. Only durable records are cached; reads older than the
    /// cache go to the blob. Default 4 MiB; 0 disables the cache; at most 256 MiB.
    /// </summary>
    public int TailCacheBytes { get; set; } = DefaultTailCacheBytes;

    /// <summary>Default of <see cref="TailCacheBytes"/>: 4 MiB.</summary>
    public const int DefaultTailCacheBytes = 4 * 1024 * 1024;

    /// <summary>
    /// How stale an instance's view of its partition's end may get while it is not writing: a read that reaches the high
    /// watermark, or <see cref="AzureMessageLog.VerifyOwnershipAsync"/>, asks the service for the active segment's length
    /// when nothing proved ownership for this long (a successful append proves it), and an instance that finds another
    /// one's writes there is fenced (<see cref="LogFencedException"/>) instead of serving its frozen end. Default 1 s;
    /// zero checks on every such read; at most 5 minutes.
    /// </summary>
    public TimeSpan OwnershipCheckInterval { get; set; } = DefaultOwnershipCheckInterval;

    /// <summary>Default of <see cref="OwnershipCheckInterval"/>: 1 second.</summary>
    public static readonly TimeSpan DefaultOwnershipCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>The container name derived from <see cref="NamePrefix"/>.</summary>
    public string ContainerName => $"{NamePrefix}-log";
}

/// <summary>Validates <see cref="AzureLogOptions"/>, including that no setting would make the log send a request Azure refuses.</summary>
public sealed class AzureLogOptionsValidator : IValidateOptions<AzureLogOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AzureLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string type = nameof(AzureLogOptions);
        var failures = new List<string>();
        if (options.BlobServiceClient is null && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add($"{type}: set {nameof(AzureLogOptions.ConnectionString)} or {nameof(AzureLogOptions.BlobServiceClient)}.");
        }

        if (!IsValidPrefix(options.NamePrefix))
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.NamePrefix)} is '{options.NamePrefix}'; it must be 3–59 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.");
        }

        if (options.SegmentBytes is < 1024 or > 1L << 30)
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.SegmentBytes)} is {options.SegmentBytes}; it must be 1024–{1L << 30}.");
        }

        if (options.MaxAppendBytes is < 4096 or > AzureBlobLimits.MaxAppendBlockBytes)
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.MaxAppendBytes)} is {options.MaxAppendBytes}; it must be 4096–{AzureBlobLimits.MaxAppendBlockBytes} (the Append Block limit).");
        }

        if (options.MaxBlocksPerSegment is < 4 or > AzureBlobLimits.MaxBlocksPerAppendBlob)
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.MaxBlocksPerSegment)} is {options.MaxBlocksPerSegment}; it must be 4–{AzureBlobLimits.MaxBlocksPerAppendBlob} (blocks per append blob).");
        }

        if (options.TailCacheBytes is < 0 or > 256 * 1024 * 1024)
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.TailCacheBytes)} is {options.TailCacheBytes}; it must be 0–{256 * 1024 * 1024} (0 disables the tail cache).");
        }

        if (options.OwnershipCheckInterval < TimeSpan.Zero || options.OwnershipCheckInterval > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.OwnershipCheckInterval)} is {options.OwnershipCheckInterval}; it must be 00:00:00–00:05:00 (zero checks on every read at the end of the log).");
        }

        if (options.IndexIntervalBytes is < 256 or > 4 * 1024 * 1024)
        {
            failures.Add($"{type}.{nameof(AzureLogOptions.IndexIntervalBytes)} is {options.IndexIntervalBytes}; it must be 256–{4 * 1024 * 1024}.");
        }
        else if (options.MaxAppendBytes >= 4096 && options.SegmentBytes > 0)
        {
            // The seal block carries the segment's index, and must itself fit in one append.
            var sealBytes = AzureSegmentFormat.MaxSealFrameSize(options.SegmentBytes, options.MaxAppendBytes, options.IndexIntervalBytes);
            if (sealBytes > options.MaxAppendBytes)
            {
                failures.Add($"{type}: a segment of {options.SegmentBytes} bytes indexed every {options.IndexIntervalBytes} bytes needs a seal block of up to {sealBytes} bytes, more than {nameof(AzureLogOptions.MaxAppendBytes)} ({options.MaxAppendBytes}); raise {nameof(AzureLogOptions.IndexIntervalBytes)} or lower {nameof(AzureLogOptions.SegmentBytes)}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsValidPrefix(string? prefix)
    {
        if (prefix is null || prefix.Length is < 3 or > 59 || prefix[0] == '-' || prefix[^1] == '-' || prefix.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
