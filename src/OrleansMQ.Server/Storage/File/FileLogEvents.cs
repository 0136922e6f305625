using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>Log messages of the file log. Event ids 3100–3199 are reserved for storage.</summary>
internal static partial class FileLogEvents
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug,
        Message = "Opened log {Topic}/{Partition}: offsets {LowWatermark}..{HighWatermark}, {Segments} segment(s), {Bytes} bytes, recovered in {ElapsedMs} ms")]
    public static partial void Opened(ILogger logger, string topic, int partition, long lowWatermark, long highWatermark, int segments, long bytes, long elapsedMs);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "Log {Topic}/{Partition}: cut the torn or invalid tail of '{Path}' at byte {Position} ({Reason}); {CutBytes} byte(s) dropped, appends continue at offset {NextOffset}")]
    public static partial void TailCut(ILogger logger, string topic, int partition, string path, long position, string reason, long cutBytes, long nextOffset);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error,
        Message = "Log {Topic}/{Partition}: sealed segment '{Path}' is corrupt from offset {Offset} ({Reason}); reads of those records will fail until retention deletes the segment")]
    public static partial void SealedSegmentCorrupt(ILogger logger, string topic, int partition, string path, long offset, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error,
        Message = "Log {Topic}/{Partition}: a write failed; pending appends fail and the log must be reopened")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string topic, int partition);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Critical, Message = "The file log writer failed unexpectedly; the commit round's appends fail")]
    public static partial void WriterFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information,
        Message = "Log {Topic}/{Partition}: retention deleted {Segments} segment(s); the log now starts at offset {LowWatermark}")]
    public static partial void RetentionDeleted(ILogger logger, string topic, int partition, int segments, long lowWatermark);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Could not delete segment file '{Path}'")]
    public static partial void SegmentDeleteFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Log {Topic}/{Partition}: removed empty trailing segment file '{Path}'")]
    public static partial void EmptySegmentRemoved(ILogger logger, string topic, int partition, string path);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning,
        Message = "The last run did not stop cleanly; file log journal replayed: {Entries} entries, {Bytes} bytes written back to {Files} segment file(s), {Skipped} entries of deleted segment files skipped")]
    public static partial void JournalReplayed(ILogger logger, long entries, long bytes, int files, long skipped);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Critical,
        Message = "Flushing file log segment files failed; appends fail until the silo restarts, whose journal replay writes the acknowledged records back")]
    public static partial void JournalFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error,
        Message = "The file log journal could not be written or flushed; the commit round's appends fail, and the journal starts a new generation before the next round")]
    public static partial void JournalWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Error,
        Message = "The file log's fan-out store failed; fan-out copies are written in full until the silo restarts")]
    public static partial void FanOutStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning,
        Message = "The fan-out store floor file '{Path}' is unreadable; its store records are kept until that partition's log opens")]
    public static partial void FanOutFloorUnreadable(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Warning,
        Message = "Deleting unreferenced fan-out store segments failed; retried after the next change")]
    public static partial void FanOutCollectFailed(ILogger logger, Exception exception);
}
