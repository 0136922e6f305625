namespace OrleansMQ.Server.Storage;

/// <summary>The per-segment retention decision shared by all backends, so they delete exactly the same segments.</summary>
internal static class RetentionRule
{
    /// <summary>
    /// Whether a sealed, fully durable segment may be deleted. Callers walk segments oldest first and stop at the first
    /// one that must stay, so the log stays contiguous.
    /// </summary>
    /// <param name="request">The retention request.</param>
    /// <param name="endOffset">One past the segment's last offset.</param>
    /// <param name="maxTimestampTicks">The largest record time stamp in the segment (UTC ticks); ignored when it holds no records.</param>
    /// <param name="hasRecords">Whether the segment holds any record.</param>
    /// <param name="logBytes">The log's size before deleting this segment.</param>
    public static bool ShouldDelete(RetentionRequest request, long endOffset, long maxTimestampTicks, bool hasRecords, long logBytes) =>
        (request.DeleteBelowOffset is { } below && endOffset <= below)
        || (request.DeleteOlderThan is { } olderThan && (!hasRecords || maxTimestampTicks < olderThan.UtcTicks))
        || (request.MaxBytes is { } maxBytes && logBytes > maxBytes);
}
