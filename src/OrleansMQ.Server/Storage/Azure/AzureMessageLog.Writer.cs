using System.Buffers;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace OrleansMQ.Server.Storage;

/// <summary>The writer: group commit into Append Block requests, segment rolling, and the conditional requests that fence.</summary>
public sealed partial class AzureMessageLog
{
    /// <summary>The blob metadata key naming the instance that created a segment (so a retried create can recognise its own blob).</summary>
    internal const string CreatorMetadataKey = "omqcreator";

    // One part of a block: records [From, To) of a request, bytes [ByteFrom, ByteTo) of its buffer.
    private readonly record struct BlockPart(AzurePendingAppend Request, int From, int To, int ByteFrom, int ByteTo);

    /// <summary>Append Block requests this instance sent successfully (tests).</summary>
    internal long AppendRequests => Volatile.Read(ref _appendRequests);

    private long _appendRequests;

    private static readonly KeyValuePair<string, object?> AzureStorageTag = new("storage", "azure");

    // One loop per log while it has queued appends: at most one request in flight per partition (append positions are
    // sequential), different partitions in parallel.
    private async Task RunWriterAsync()
    {
        var block = ArrayPool<byte>.Shared.Rent(_options.MaxAppendBytes);
        var parts = new List<BlockPart>();
        try
        {
            while (true)
            {
                AzureSegment segment;
                int nextFrame;
                List<AzurePendingAppend>? failed = null;
                Exception? failure;
                lock (_sync)
                {
                    failure = _failure;
                    if (failure is not null)
                    {
                        failed = [.. _queue];
                        _queue.Clear();
                        _totalBytes -= _pendingBytes; // never stored
                        _pendingBytes = 0;
                        _writerRunning = false;
                    }
                    else if (_queue.Count == 0)
                    {
                        _writerRunning = false;
                        return;
                    }

                    segment = _segments[^1];
                    var head = _queue.Count > 0 ? _queue.Peek() : null;
                    nextFrame = head is null ? 0 : head.FrameSizes[head.Written];
                }

                if (failed is not null)
                {
                    Fail(failed, failure!);
                    return;
                }

                try
                {
                    if (NeedsRoll(segment, nextFrame))
                    {
                        await RollAsync(segment).ConfigureAwait(false);
                        continue;
                    }

                    var length = Pack(segment, block, parts);
                    var position = segment.BlobLength;
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var blocks = await AppendBlockAsync(segment, block, length, position).ConfigureAwait(false);
                    NoteOwnershipProven();
                    OrleansMQTelemetry.StorageWriteDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, AzureStorageTag);
                    OrleansMQTelemetry.StorageWriteBatchSize.Record(parts.Count, AzureStorageTag);
                    OnDurable(segment, parts, position, block, length, blocks);
                }
                catch (Exception ex)
                {
                    lock (_sync)
                    {
                        _failure ??= ex;
                    }

                    if (ex is LogFencedException)
                    {
                        AzureLogEvents.Fenced(_logger, ex, Topic, Partition, InstanceId);
                    }
                    else
                    {
                        AzureLogEvents.WriteFailed(_logger, ex, Topic, Partition);
                    }
                }
                finally
                {
                    parts.Clear();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    // Whether the active segment must be sealed before the next record: it would pass SegmentBytes (a segment always takes
    // at least one record), or after one more data block no block would be left for the seal.
    private bool NeedsRoll(AzureSegment segment, int nextFrame) =>
        (segment.RecordBytes > 0 && segment.RecordBytes + nextFrame > _options.SegmentBytes)
        || segment.CommittedBlocks + 2 > _options.MaxBlocksPerSegment;

    // Copies the queued records that fit into one block: at most MaxAppendBytes, and not past the segment's size.
    private int Pack(AzureSegment segment, byte[] block, List<BlockPart> parts)
    {
        var length = 0;
        var segmentBytes = segment.RecordBytes;
        lock (_sync)
        {
            foreach (var request in _queue)
            {
                int from = request.Written, i = from, byteFrom = request.WrittenBytes, byteTo = byteFrom;
                var full = false;
                for (; i < request.Count; i++)
                {
                    var size = request.FrameSizes[i];
                    if (length + size > _options.MaxAppendBytes || (segmentBytes > 0 && segmentBytes + size > _options.SegmentBytes))
                    {
                        full = true;
                        break;
                    }

                    length += size;
                    segmentBytes += size;
                    byteTo += size;
                }

                if (i > from)
                {
                    parts.Add(new BlockPart(request, from, i, byteFrom, byteTo));
                }

                if (full)
                {
                    break;
                }
            }
        }

        // The buffers are immutable once queued, so they are copied outside the lock.
        var position = 0;
        foreach (var part in parts)
        {
            var bytes = part.ByteTo - part.ByteFrom;
            Buffer.BlockCopy(part.Request.Buffer, part.ByteFrom, block, position, bytes);
            position += bytes;
        }

        return length;
    }

    private void OnDurable(AzureSegment segment, List<BlockPart> parts, long position, byte[] block, int length, long blocks)
    {
        List<AzurePendingAppend>? completed = null;
        // The block is exactly the frames of its parts, back to back, first offset first: cache a copy (outside the lock).
        var cached = _options.TailCacheBytes > 0 && parts.Count > 0 ? block.AsSpan(0, length).ToArray() : null;
        lock (_sync)
        {
            if (cached is not null)
            {
                AddToTailCache(parts[0].Request.FirstOffset + parts[0].From, cached);
            }

            var blobPosition = position;
            foreach (var part in parts)
            {
                var request = part.Request;
                for (int i = part.From, at = part.ByteFrom; i < part.To; at += request.FrameSizes[i], i++)
                {
                    var size = request.FrameSizes[i];
                    var ticks = LogRecordCodec.ReadTimestampTicks(request.Buffer.AsSpan(at + LogRecordCodec.FrameHeaderSize, size - LogRecordCodec.FrameHeaderSize));
                    segment.AddRecord(request.FirstOffset + i, blobPosition, size, ticks);
                    blobPosition += size;
                }

                request.Written = part.To;
                request.WrittenBytes = part.ByteTo;
                if (part.To == request.Count)
                {
                    _queue.Dequeue(); // parts start at the queue's head, so a finished request is at the head
                    (completed ??= []).Add(request);
                }
            }

            segment.BlobLength = segment.DataEnd = position + length;
            segment.CommittedBlocks = blocks;
            _pendingBytes -= length;
            Volatile.Write(ref _highWatermark, segment.EndOffset);
        }

        Interlocked.Increment(ref _appendRequests);
        if (completed is not null)
        {
            foreach (var request in completed)
            {
                request.ReturnBuffer();
                request.TrySetResult(request.FirstOffset);
            }
        }
    }

    private void Fail(List<AzurePendingAppend> requests, Exception failure)
    {
        foreach (var request in requests)
        {
            request.ReturnBuffer();
            request.TrySetException(failure is LogFencedException
                ? new LogFencedException(failure.Message, failure)
                : new IOException($"Appending to Azure log {Topic}/{Partition} failed: {failure.Message} The log must be reopened.", failure));
        }
    }

    // Seals the active segment (a summary frame, conditional like every append) and starts the next one.
    private async Task RollAsync(AzureSegment segment)
    {
        byte[] seal;
        lock (_sync)
        {
            seal = AzureSegmentFormat.CreateSeal(segment.ToSummary());
        }

        var blocks = await AppendBlockAsync(segment, seal, seal.Length, segment.BlobLength).ConfigureAwait(false);
        lock (_sync)
        {
            segment.BlobLength += seal.Length;
            segment.CommittedBlocks = blocks;
            segment.Sealed = true;
        }

        var next = new AzureSegment(AzureSegment.Name(_prefix, segment.EndOffset), segment.EndOffset, _options.IndexIntervalBytes);
        var client = _container.GetAppendBlobClient(next.BlobName);
        try
        {
            await CreateSegmentBlobAsync(client, InstanceId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            if (!await CreatedByAsync(client, InstanceId).ConfigureAwait(false))
            {
                throw Fenced($"segment '{next.BlobName}' was created by another instance", ex);
            }
        }

        lock (_sync)
        {
            _segments = [.. _segments, next];
        }

        AzureLogEvents.Rolled(_logger, Topic, Partition, segment.BlobName, blocks, segment.RecordBytes, next.BaseOffset);
    }

    // Appends `length` bytes of `data` at `position`, on condition that the blob's length is exactly `position`: that is the
    // fence. Returns the blob's committed block count.
    private async Task<long> AppendBlockAsync(AzureSegment segment, byte[] data, int length, long position)
    {
        AzureBlobLimits.CheckAppend(length, segment.CommittedBlocks, _options.MaxAppendBytes, _options.MaxBlocksPerSegment);
        var client = _container.GetAppendBlobClient(segment.BlobName);
        try
        {
            return await AppendAtAsync(client, data, length, position, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // The SDK retries a request whose response was lost; if the first attempt landed, the retry finds the position
            // moved. Our own bytes at `position` mean the append succeeded; anything else means another writer moved it.
            if (await LandedAsync(client, data, length, position).ConfigureAwait(false) is { } blocks)
            {
                return blocks;
            }

            throw Fenced($"the append position of '{segment.BlobName}' is no longer {position}", ex);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw Fenced($"segment '{segment.BlobName}' no longer exists (the log was deleted or taken over)", ex);
        }
    }

    private static async Task<long> AppendAtAsync(AppendBlobClient client, byte[] data, int length, long position, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(data, 0, length, writable: false);
        var response = await client.AppendBlockAsync(content, new AppendBlobAppendBlockOptions
        {
            Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = position },
        }, cancellationToken).ConfigureAwait(false);
        return response.Value.BlobCommittedBlockCount;
    }

    private static async Task<long?> LandedAsync(AppendBlobClient client, byte[] data, int length, long position)
    {
        try
        {
            var response = await client.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(position, length) }).ConfigureAwait(false);
            var stored = response.Value.Content.ToMemory().Span;
            return stored.SequenceEqual(data.AsSpan(0, length)) ? response.Value.Details.BlobCommittedBlockCount : null;
        }
        catch (RequestFailedException)
        {
            return null;
        }
    }

    /// <summary>Creates an empty segment blob, failing (409) if it exists: creating a segment is a conditional write too.</summary>
    internal static async Task CreateSegmentBlobAsync(AppendBlobClient client, Guid instanceId, CancellationToken cancellationToken) =>
        await client.CreateAsync(new AppendBlobCreateOptions
        {
            Metadata = new Dictionary<string, string> { [CreatorMetadataKey] = instanceId.ToString("N") },
            Conditions = new AppendBlobRequestConditions { IfNoneMatch = ETag.All },
        }, cancellationToken).ConfigureAwait(false);

    // After a create that conflicted: whether the blob is the empty one this instance created (a retried request).
    private static async Task<bool> CreatedByAsync(AppendBlobClient client, Guid instanceId)
    {
        try
        {
            var properties = (await client.GetPropertiesAsync().ConfigureAwait(false)).Value;
            return properties.ContentLength == 0
                && properties.Metadata.TryGetValue(CreatorMetadataKey, out var creator) && creator == instanceId.ToString("N");
        }
        catch (RequestFailedException)
        {
            return false;
        }
    }

    private LogFencedException Fenced(string reason, Exception inner) =>
        new($"Azure log {Topic}/{Partition}: instance {InstanceId:N} lost ownership of the partition ({reason}); another instance opened it. Nothing more is written through this instance; dispose it.", inner);
}
