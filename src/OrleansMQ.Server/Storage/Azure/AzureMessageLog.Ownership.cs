using System.Diagnostics;
using Azure;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Read-side fencing. Conditional appends stop a stale instance from writing, but an instance that only reads (a duplicate
/// activation of the partition grain that producers no longer reach, after a silo was paused or the grain directory
/// disagreed for a while) would never write, so never learn that another instance owns the partition, and would serve its
/// frozen high watermark forever: consumers routed to it would never see what the owner acknowledged. So an instance
/// that has not proved ownership recently (a successful append proves it) asks the service for the active segment's
/// length before it answers "this is the end of the log", and fences itself when another instance's writes are there.
/// </summary>
public sealed partial class AzureMessageLog
{
    // Stopwatch timestamp of the last proof of ownership: a successful append, or a check that found the blob as this
    // instance left it. A check in flight also counts, so that concurrent readers send one request, not one each.
    private long _ownershipProvenAt = Stopwatch.GetTimestamp();

    /// <summary>Ownership checks this instance sent to the service (tests).</summary>
    internal long OwnershipChecks => Volatile.Read(ref _ownershipChecks);

    private long _ownershipChecks;

    /// <inheritdoc />
    /// <remarks>
    /// One Get Blob Properties request on the active segment when nothing proved ownership within
    /// <see cref="AzureLogOptions.OwnershipCheckInterval"/> and no append of this instance is in flight (every offset it
    /// assigned is durable). The instance is
    /// fenced (every later append, and every check, throws <see cref="LogFencedException"/>) when the blob is no longer
    /// as long as this instance's own writes left it, or is gone.
    /// </remarks>
    public async ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default)
    {
        AzureSegment segment;
        long expectedLength;
        lock (_sync)
        {
            ThrowIfClosed();
            if (_failure is LogFencedException fenced)
            {
                throw new LogFencedException(fenced.Message, fenced);
            }

            if (_failure is not null || _nextOffset != _highWatermark
                || (_options.OwnershipCheckInterval > TimeSpan.Zero && Stopwatch.GetElapsedTime(_ownershipProvenAt) < _options.OwnershipCheckInterval))
            {
                return; // a failed instance serves no appends anyway; an append in flight proves or disproves ownership itself
            }

            _ownershipProvenAt = Stopwatch.GetTimestamp();
            segment = _segments[^1];
            expectedLength = segment.BlobLength;
        }

        Interlocked.Increment(ref _ownershipChecks);
        long? actualLength;
        try
        {
            var properties = await _container.GetBlobClient(segment.BlobName).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            actualLength = properties.Value.ContentLength;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            actualLength = null; // deleted: by another instance (the topic was deleted), or this one rolled past it meanwhile
        }
        catch
        {
            lock (_sync)
            {
                _ownershipProvenAt = 0; // unknown: check again on the next read rather than trust this instance's view for a whole interval
            }

            throw;
        }

        LogFencedException exception;
        lock (_sync)
        {
            if (_closed || _failure is not null || _nextOffset != _highWatermark || !ReferenceEquals(_segments[^1], segment) || segment.BlobLength != expectedLength)
            {
                return; // this instance wrote (or failed) while the request was out: that outcome decides, not this probe
            }

            if (actualLength == expectedLength)
            {
                return;
            }

            exception = new LogFencedException(
                $"Azure log {Topic}/{Partition}: another instance wrote to the partition (segment '{segment.BlobName}' is "
                + (actualLength is { } length ? $"{length} bytes" : "gone")
                + $"; this instance's writes ended at byte {expectedLength}), so this instance's end of the log (offset {_highWatermark}) is stale. "
                + "It serves and writes nothing more; reopen the partition.");
            _failure ??= exception;
        }

        AzureLogEvents.Fenced(_logger, exception, Topic, Partition, InstanceId);
        throw exception;
    }

    // Called by the writer after the service acknowledged an append: conditional on the append position, so proof of ownership.
    private void NoteOwnershipProven() => Volatile.Write(ref _ownershipProvenAt, Stopwatch.GetTimestamp());
}
