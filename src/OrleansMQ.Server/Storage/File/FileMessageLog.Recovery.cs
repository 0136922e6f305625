using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>Opening and recovery.</summary>
/// <remarks>
/// <para>
/// The writer upholds one invariant that recovery relies on: no byte is written to a segment until every earlier segment
/// is durable up to its end (it fsyncs the older segment before writing the newer one). So after a crash only the last
/// non-empty segment can have a torn tail, and anything wrong in an earlier one is real corruption.
/// </para>
/// <para>
/// Recovery therefore (1) removes trailing empty segment files (a roll creates the file before anything is written to it),
/// (2) scans the last segment record by record and truncates it at the first record that is torn or invalid (short header,
/// bad length, length beyond the end of the file, CRC mismatch, offset out of sequence): such a record was never
/// acknowledged, and neither was anything after it; (3) scans every sealed segment too, to rebuild its sparse index and
/// time range. A sealed segment with an invalid record is NOT truncated: it is marked corrupt from that offset, the log
/// opens (so the partition keeps accepting and serving other records), and any read reaching those records throws
/// <see cref="LogCorruptionException"/>; it never returns wrong data. A sealed segment whose records overlap the next one
/// fails the open with <see cref="LogCorruptionException"/>.
/// </para>
/// <para>
/// Under <see cref="FsyncPolicy.Never"/> the invariant does not survive an OS crash, so such a crash can surface as corruption.
/// </para>
/// </remarks>
public sealed partial class FileMessageLog
{
    internal static FileMessageLog Open(FileMessageLogFactory factory, FileLogWriter writer, FileLogOptions options, ILogger logger, string topic, int partition)
    {
        var directory = Path.Combine(options.DataDirectory, "topics", topic, partition.ToString(CultureInfo.InvariantCulture));
        var log = Open(factory, writer, options, logger, topic, partition, directory, factory.Store?.End ?? long.MaxValue, isStore: false);
        if (factory.Store is { } store)
        {
            lock (log._floorGate)
            {
                store.SetFloor(log, log.LowestStoreReference);
            }
        }

        return log;
    }

    // Opens the fan-out store's own log (format-1 records only, referenced by other logs).
    internal static FileMessageLog OpenStore(FileMessageLogFactory factory, FileLogWriter writer, FileLogOptions options, ILogger logger, string directory) =>
        Open(factory, writer, options, logger, "(fan-out store)", 0, directory, long.MaxValue, isStore: true);

    // storeEnd: the fan-out store's end; a reference at or past it was never stored (cut like a torn tail when in the
    // active segment).
    private static FileMessageLog Open(FileMessageLogFactory factory, FileLogWriter writer, FileLogOptions options, ILogger logger, string topic, int partition,
        string directory, long storeEnd, bool isStore)
    {
        var started = Stopwatch.GetTimestamp();
        CreateDirectoryDurably(directory, options.FsyncPolicy);

        var files = new List<(long BaseOffset, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*" + FileSegment.Extension))
        {
            if (FileSegment.TryParseFileName(Path.GetFileName(path), out var baseOffset))
            {
                files.Add((baseOffset, path));
            }
        }

        files.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));
        while (files.Count > 1 && new FileInfo(files[^1].Path).Length == 0)
        {
            File.Delete(files[^1].Path);
            FileLogEvents.EmptySegmentRemoved(logger, topic, partition, files[^1].Path);
            files.RemoveAt(files.Count - 1);
        }

        if (files.Count == 0)
        {
            var path = Path.Combine(directory, FileSegment.FileName(0));
            File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete).Dispose();
            if (options.FsyncPolicy == FsyncPolicy.Always)
            {
                DirectorySync.Flush(directory);
            }

            files.Add((0, path));
        }

        var segments = new List<FileSegment>(files.Count);
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var (baseOffset, path) = files[i];
                var active = i == files.Count - 1;
                var handle = File.OpenHandle(path, FileMode.Open, active ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var segment = new FileSegment(path, baseOffset, handle, options.IndexIntervalBytes);
                segments.Add(segment);
                if (active)
                {
                    RecoverActive(segment, options, logger, topic, partition, storeEnd);
                }
                else
                {
                    RecoverSealed(segment, files[i + 1].BaseOffset, logger, topic, partition, storeEnd);
                }
            }
        }
        catch
        {
            foreach (var segment in segments)
            {
                segment.Handle.Dispose();
            }

            throw;
        }

        var log = new FileMessageLog(factory, writer, options, logger, topic, partition, directory, [.. segments]) { IsFanOutStore = isStore };
        FileLogEvents.Opened(logger, topic, partition, log.LowWatermark, log.HighWatermark, segments.Count, log.SizeBytes,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return log;
    }

    private static void RecoverActive(FileSegment segment, FileLogOptions options, ILogger logger, string topic, int partition, long storeEnd)
    {
        var length = RandomAccess.GetLength(segment.Handle);
        var (end, reason) = Scan(segment, length, storeEnd);
        if (reason is not null)
        {
            RandomAccess.SetLength(segment.Handle, end);
            if (options.FsyncPolicy == FsyncPolicy.Always)
            {
                RandomAccess.FlushToDisk(segment.Handle);
            }

            FileLogEvents.TailCut(logger, topic, partition, segment.Path, end, reason, length - end, segment.EndOffset);
        }

        segment.AssignedBytes = segment.DurableBytes = end;
    }

    private static void RecoverSealed(FileSegment segment, long nextBase, ILogger logger, string topic, int partition, long storeEnd)
    {
        var length = RandomAccess.GetLength(segment.Handle);
        var (end, reason) = Scan(segment, length, storeEnd);
        if (segment.EndOffset > nextBase)
        {
            throw new LogCorruptionException(
                $"Log {topic}/{partition}: segment '{segment.Path}' holds offsets up to {segment.EndOffset - 1}, but the next segment starts at {nextBase}.");
        }

        if (reason is null && segment.EndOffset < nextBase)
        {
            reason = $"the segment ends before offset {nextBase}, where the next segment starts";
        }

        if (reason is not null)
        {
            segment.MarkCorrupt(segment.EndOffset, end, reason);
            FileLogEvents.SealedSegmentCorrupt(logger, topic, partition, segment.Path, segment.EndOffset, segment.CorruptionReason!);
        }

        segment.AssignedBytes = segment.DurableBytes = length;
        segment.EndOffset = nextBase;
    }

    // Indexes the valid records from the start of the file. Returns where they end, and why the scan stopped early (null
    // when it reached the end of the file exactly).
    private static (long End, string? Reason) Scan(FileSegment segment, long length, long storeEnd)
    {
        using var scanner = new FrameScanner(segment.Handle, 0, length, 1024 * 1024);
        var expected = segment.BaseOffset;
        while (true)
        {
            var position = scanner.Position;
            var status = scanner.Next(out var payload);
            switch (status)
            {
                case FrameStatus.End:
                    return (position, null);
                case FrameStatus.Record:
                    var offset = LogRecordCodec.ReadOffset(payload);
                    if (offset != expected)
                    {
                        return (position, $"offset {offset} where {expected} was expected");
                    }

                    if (LogRecordCodec.IsReference(payload))
                    {
                        var reference = LogRecordCodec.ReadReference(payload);
                        if (reference.StoreOffset >= storeEnd)
                        {
                            return (position, $"a reference to fan-out store record {reference.StoreOffset}, which was never stored (the store ends at {storeEnd})");
                        }

                        segment.MinStoreReference = Math.Min(segment.MinStoreReference, reference.StoreOffset);
                        segment.ReferencedBytes += reference.TailLength;
                    }

                    segment.AddRecord(offset, position, payload.Length + LogRecordCodec.FrameHeaderSize, LogRecordCodec.ReadTimestampTicks(payload));
                    expected++;
                    break;
                default:
                    return (position, status switch
                    {
                        FrameStatus.Truncated => "record truncated",
                        FrameStatus.BadLength => "invalid record length",
                        _ => "CRC mismatch",
                    });
            }
        }
    }

    // Creates the directory and its missing parents, and makes their entries durable.
    private static void CreateDirectoryDurably(string directory, FsyncPolicy policy)
    {
        var missing = new List<string>();
        for (var d = Path.GetFullPath(directory); !System.IO.Directory.Exists(d); d = Path.GetDirectoryName(d)!)
        {
            missing.Add(d);
        }

        if (missing.Count == 0)
        {
            return;
        }

        System.IO.Directory.CreateDirectory(directory);
        if (policy == FsyncPolicy.Always)
        {
            foreach (var created in missing)
            {
                DirectorySync.Flush(Path.GetDirectoryName(created)!);
            }
        }
    }
}
