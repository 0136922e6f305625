using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>Opening: recovery and taking ownership.</summary>
/// <remarks>
/// <para>
/// Opening lists the partition's segment blobs, reads each sealed segment's summary from its seal frame (one small ranged
/// read from the blob's end; a sealed segment without a valid seal is downloaded and scanned whole), and downloads and
/// scans the active (last) segment record by record, verifying CRCs and offsets.
/// </para>
/// <para>
/// Then it takes ownership with one conditional write: normally a fence frame appended at the length it just read. When
/// the active segment ends in something invalid (a CRC mismatch, a bad length, an offset out of sequence: never written
/// by this code, since every Append Block lands whole, but possible through a bug or a foreign writer), the records
/// before it are kept, everything from it on is ignored, and the segment is sealed with a summary saying where its valid
/// data ends, so every later open reads the same prefix; appends continue in a new segment. The same happens when the
/// segment has too few blocks left, and a segment already sealed (a crash between sealing and creating the next) just gets
/// its successor. An active segment with no valid record is replaced instead (conditional delete and create).
/// </para>
/// <para>
/// If any of those conditional writes fails because another instance wrote in between, opening starts over (a few times,
/// with jitter): the newest successful conditional write decides the owner.
/// </para>
/// </remarks>
public sealed partial class AzureMessageLog
{
    private const int MaxOpenAttempts = 8;
    private const int SealTailRead = 64 * 1024;
    private const int SealedLoadConcurrency = 8;

    internal static async Task<AzureMessageLog> OpenAsync(AzureMessageLogFactory factory, BlobContainerClient container, AzureLogOptions options,
        ILogger logger, string topic, int partition, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var instanceId = Guid.NewGuid();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var segments = await RecoverAsync(container, options, logger, topic, partition, instanceId, cancellationToken).ConfigureAwait(false);
                var log = new AzureMessageLog(factory, container, options, logger, topic, partition, instanceId, segments);
                AzureLogEvents.Opened(logger, topic, partition, instanceId, log.LowWatermark, log.HighWatermark, segments.Length, log.SizeBytes,
                    (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, attempt);
                return log;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 409 or 412 && ex.ErrorCode != BlobErrorCode.ContainerNotFound)
            {
                if (attempt == MaxOpenAttempts)
                {
                    throw new LogFencedException(
                        $"Azure log {topic}/{partition}: could not take ownership in {attempt} attempts; other instances keep writing the partition ({ex.ErrorCode}).", ex);
                }

                AzureLogEvents.OpenRaced(logger, topic, partition, ex.ErrorCode, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<AzureSegment[]> RecoverAsync(BlobContainerClient container, AzureLogOptions options, ILogger logger,
        string topic, int partition, Guid instanceId, CancellationToken cancellationToken)
    {
        var prefix = AzureSegment.Prefix(topic, partition);
        var interval = options.IndexIntervalBytes;
        var blobs = new List<(long BaseOffset, string Name, long Length)>();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            if (AzureSegment.TryParseName(item.Name, prefix, out var baseOffset))
            {
                blobs.Add((baseOffset, item.Name, item.Properties.ContentLength ?? 0));
            }
        }

        blobs.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));
        if (blobs.Count == 0)
        {
            var first = new AzureSegment(AzureSegment.Name(prefix, 0), 0, interval);
            await CreateSegmentBlobAsync(container.GetAppendBlobClient(first.BlobName), instanceId, cancellationToken).ConfigureAwait(false);
            return [first];
        }

        var last = blobs[^1];
        var sealedLoad = LoadSealedAsync(container, blobs[..^1], options, logger, topic, partition, cancellationToken);
        var activeClient = container.GetAppendBlobClient(last.Name);
        BlobDownloadResult download;
        try
        {
            download = (await activeClient.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch
        {
            await ((Task)sealedLoad).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // observe it; the first failure wins
            throw;
        }

        var bytes = download.Content.ToMemory();
        var active = new AzureSegment(last.Name, last.BaseOffset, interval)
        {
            BlobLength = bytes.Length,
            CommittedBlocks = download.Details.BlobCommittedBlockCount,
        };
        var (reason, cutAt) = Scan(active, bytes.Span);
        var sealedSegments = await sealedLoad.ConfigureAwait(false);
        AzureSegment[] segments = [.. sealedSegments, active];
        CheckContinuity(segments, logger, topic, partition);

        var needsFreshSegment = active.Sealed || reason is not null || active.CommittedBlocks + 3 > options.MaxBlocksPerSegment;
        if (!needsFreshSegment)
        {
            // The usual case: take ownership by moving the append position.
            var fence = new byte[AzureSegmentFormat.FenceFrameSize];
            AzureSegmentFormat.WriteFence(fence, instanceId, active.EndOffset, DateTime.UtcNow.Ticks);
            AzureBlobLimits.CheckAppend(fence.Length, active.CommittedBlocks, options.MaxAppendBytes, options.MaxBlocksPerSegment);
            active.CommittedBlocks = await AppendAtAsync(activeClient, fence, fence.Length, active.BlobLength, cancellationToken).ConfigureAwait(false);
            active.BlobLength += fence.Length;
            active.DataEnd = active.BlobLength;
            return segments;
        }

        if (!active.HasRecords)
        {
            // Nothing to keep, and a successor would get the same name: replace the blob, on condition nobody changed it.
            await activeClient.DeleteAsync(DeleteSnapshotsOption.IncludeSnapshots, new BlobRequestConditions { IfMatch = download.Details.ETag }, cancellationToken).ConfigureAwait(false);
            var fresh = new AzureSegment(active.BlobName, active.BaseOffset, interval);
            await CreateSegmentBlobAsync(activeClient, instanceId, cancellationToken).ConfigureAwait(false);
            segments[^1] = fresh;
            return segments;
        }

        if (!active.Sealed)
        {
            if (reason is not null)
            {
                AzureLogEvents.TailCut(logger, topic, partition, active.BlobName, cutAt, reason, active.BlobLength - cutAt, active.EndOffset);
            }

            var seal = AzureSegmentFormat.CreateSeal(active.ToSummary());
            AzureBlobLimits.CheckAppend(seal.Length, active.CommittedBlocks, options.MaxAppendBytes, options.MaxBlocksPerSegment);
            active.CommittedBlocks = await AppendAtAsync(activeClient, seal, seal.Length, active.BlobLength, cancellationToken).ConfigureAwait(false);
            active.BlobLength += seal.Length;
            active.Sealed = true;
        }

        var next = new AzureSegment(AzureSegment.Name(prefix, active.EndOffset), active.EndOffset, interval);
        await CreateSegmentBlobAsync(container.GetAppendBlobClient(next.BlobName), instanceId, cancellationToken).ConfigureAwait(false);
        return [.. segments, next];
    }

    // Indexes the valid items of a downloaded segment from its start. Returns why the scan stopped before the end (null
    // when it reached the end or a valid seal) and where.
    private static (string? Reason, long Position) Scan(AzureSegment segment, ReadOnlySpan<byte> data)
    {
        var position = 0;
        var expected = segment.BaseOffset;
        while (true)
        {
            var item = AzureSegmentFormat.Next(data, position, out var itemLength, out var payload);
            string? reason = null;
            switch (item)
            {
                case SegmentItem.End:
                    segment.DataEnd = position;
                    return (null, position);
                case SegmentItem.Record:
                    var offset = LogRecordCodec.ReadOffset(payload);
                    if (offset != expected)
                    {
                        reason = $"a record with offset {offset} where {expected} was expected";
                        break;
                    }

                    segment.AddRecord(offset, position, itemLength, LogRecordCodec.ReadTimestampTicks(payload));
                    expected++;
                    position += itemLength;
                    continue;
                case SegmentItem.Fence:
                    position += itemLength;
                    continue;
                case SegmentItem.Seal:
                    if (AzureSegmentFormat.ParseSeal(payload) is not { } summary || summary.EndOffset != segment.EndOffset || summary.BaseOffset != segment.BaseOffset)
                    {
                        reason = "a seal frame that does not match the records";
                        break;
                    }

                    segment.DataEnd = position;
                    segment.Sealed = true;
                    return (null, position);
                default:
                    reason = AzureSegmentFormat.Describe(item);
                    break;
            }

            segment.DataEnd = position;
            return (reason, position);
        }
    }

    private static async Task<AzureSegment[]> LoadSealedAsync(BlobContainerClient container, List<(long BaseOffset, string Name, long Length)> blobs,
        AzureLogOptions options, ILogger logger, string topic, int partition, CancellationToken cancellationToken)
    {
        var segments = new AzureSegment[blobs.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, blobs.Count),
            new ParallelOptions { MaxDegreeOfParallelism = SealedLoadConcurrency, CancellationToken = cancellationToken },
            async (i, ct) => segments[i] = await LoadSealedAsync(container, blobs[i], options, logger, topic, partition, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return segments;
    }

    private static async Task<AzureSegment> LoadSealedAsync(BlobContainerClient container, (long BaseOffset, string Name, long Length) blob,
        AzureLogOptions options, ILogger logger, string topic, int partition, CancellationToken cancellationToken)
    {
        var client = container.GetBlobClient(blob.Name);
        if (blob.Length >= AzureSegmentFormat.ControlHeaderSize + AzureSegmentFormat.ControlTrailerSize)
        {
            var tailLength = (int)Math.Min(blob.Length, SealTailRead);
            var tail = await DownloadAsync(client, blob.Length - tailLength, tailLength, cancellationToken).ConfigureAwait(false);
            var sealLength = AzureSegmentFormat.TrailingSealLength(tail.Span);
            if (sealLength > 0 && sealLength <= blob.Length)
            {
                var frame = sealLength <= tail.Length
                    ? tail[(tail.Length - sealLength)..]
                    : await DownloadAsync(client, blob.Length - sealLength, sealLength, cancellationToken).ConfigureAwait(false);
                if (AzureSegmentFormat.Next(frame.Span, 0, out var itemLength, out var payload) == SegmentItem.Seal && itemLength == frame.Length
                    && AzureSegmentFormat.ParseSeal(payload) is { } summary && summary.BaseOffset == blob.BaseOffset && summary.DataEnd <= blob.Length - sealLength)
                {
                    return AzureSegment.FromSummary(blob.Name, summary, blob.Length, options.IndexIntervalBytes);
                }
            }
        }

        AzureLogEvents.SealMissing(logger, topic, partition, blob.Name);
        var all = (await client.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory();
        var segment = new AzureSegment(blob.Name, blob.BaseOffset, options.IndexIntervalBytes) { BlobLength = all.Length };
        var (reason, position) = Scan(segment, all.Span);
        segment.Sealed = true;
        if (reason is not null)
        {
            segment.MarkCorrupt(segment.EndOffset, $"{reason} at byte {position}");
        }

        return segment;
    }

    // Sealed segments must end exactly where the next one starts. Records missing in between (a damaged segment) make reads
    // of them fail; overlapping segments cannot be resolved safely.
    private static void CheckContinuity(AzureSegment[] segments, ILogger logger, string topic, int partition)
    {
        for (var i = 0; i + 1 < segments.Length; i++)
        {
            var segment = segments[i];
            var nextBase = segments[i + 1].BaseOffset;
            if (segment.EndOffset > nextBase)
            {
                throw new LogCorruptionException(
                    $"Azure log {topic}/{partition}: segment '{segment.BlobName}' holds offsets up to {segment.EndOffset - 1}, but the next segment starts at {nextBase}.");
            }

            if (segment.EndOffset < nextBase && segment.CorruptFromOffset is null)
            {
                segment.MarkCorrupt(segment.EndOffset, $"the segment ends before offset {nextBase}, where the next segment starts");
            }

            if (segment.CorruptFromOffset is { } from)
            {
                AzureLogEvents.SegmentCorrupt(logger, topic, partition, segment.BlobName, from, segment.CorruptionReason!);
            }
        }
    }
}
