using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>Log messages of the Azure log. Event ids 3100–3199 are reserved for storage; this backend uses 3120–3139.</summary>
internal static partial class AzureLogEvents
{
    [LoggerMessage(EventId = 3120, Level = LogLevel.Debug,
        Message = "Opened Azure log {Topic}/{Partition} (instance {InstanceId}): offsets {LowWatermark}..{HighWatermark}, {Segments} segment(s), {Bytes} bytes, in {ElapsedMs} ms after {Attempts} attempt(s)")]
    public static partial void Opened(ILogger logger, string topic, int partition, Guid instanceId, long lowWatermark, long highWatermark, int segments, long bytes, long elapsedMs, int attempts);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning,
        Message = "Azure log {Topic}/{Partition}: the active segment '{Blob}' has {Reason} at byte {Position}; the {CutBytes} byte(s) from there are ignored, the segment is sealed and appends continue at offset {NextOffset} in a new segment")]
    public static partial void TailCut(ILogger logger, string topic, int partition, string blob, long position, string reason, long cutBytes, long nextOffset);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Warning,
        Message = "Azure log {Topic}/{Partition}: instance {InstanceId} was fenced off (another instance opened the partition); its appends fail from now on")]
    public static partial void Fenced(ILogger logger, Exception exception, string topic, int partition, Guid instanceId);

    [LoggerMessage(EventId = 3123, Level = LogLevel.Error,
        Message = "Azure log {Topic}/{Partition}: a write failed; pending appends fail and the log must be reopened")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(EventId = 3124, Level = LogLevel.Information,
        Message = "Azure log {Topic}/{Partition}: retention deleted {Segments} segment(s); the log now starts at offset {LowWatermark}")]
    public static partial void RetentionDeleted(ILogger logger, string topic, int partition, int segments, long lowWatermark);

    [LoggerMessage(EventId = 3125, Level = LogLevel.Warning, Message = "Azure log: could not delete segment blob '{Blob}'; it stays in the log and retention tries again")]
    public static partial void SegmentDeleteFailed(ILogger logger, Exception exception, string blob);

    [LoggerMessage(EventId = 3126, Level = LogLevel.Warning,
        Message = "Azure log {Topic}/{Partition}: sealed segment '{Blob}' has no valid seal frame; it was scanned whole")]
    public static partial void SealMissing(ILogger logger, string topic, int partition, string blob);

    [LoggerMessage(EventId = 3127, Level = LogLevel.Error,
        Message = "Azure log {Topic}/{Partition}: segment '{Blob}' is corrupt from offset {Offset} ({Reason}); reads of those records fail until retention deletes the segment")]
    public static partial void SegmentCorrupt(ILogger logger, string topic, int partition, string blob, long offset, string reason);

    [LoggerMessage(EventId = 3128, Level = LogLevel.Debug,
        Message = "Azure log {Topic}/{Partition}: opening raced with another writer ({ErrorCode}); attempt {Attempt} starts over")]
    public static partial void OpenRaced(ILogger logger, string topic, int partition, string? errorCode, int attempt);

    [LoggerMessage(EventId = 3129, Level = LogLevel.Debug,
        Message = "Azure log {Topic}/{Partition}: sealed segment '{Blob}' ({Blocks} blocks, {Bytes} record bytes) and started the next at offset {NextOffset}")]
    public static partial void Rolled(ILogger logger, string topic, int partition, string blob, long blocks, long bytes, long nextOffset);
}
