using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;
using Xunit.Sdk;

namespace OrleansMQ.Tests.Storage;

/// <summary>Files of a test partition log, and ways to damage them.</summary>
internal static class FileLogTestFiles
{
    public const string Topic = "orders";

    public static FileMessageLogFactory Factory(string directory, long segmentBytes = FileLogOptions.DefaultSegmentBytes, FsyncPolicy fsync = FsyncPolicy.Always,
        int parallelFlushes = FileLogOptions.DefaultParallelFlushes, bool journal = false, long journalBytes = FileLogOptions.DefaultJournalBytes,
        bool storeFanOutOnce = true) =>
        new(Options.Create(new FileLogOptions
        {
            StoreFanOutOnce = storeFanOutOnce,
            DataDirectory = directory,
            SegmentBytes = segmentBytes,
            IndexIntervalBytes = 256,
            FsyncPolicy = fsync,
            ParallelFlushes = parallelFlushes,
            Journal = journal,
            JournalBytes = journalBytes,
        }));

    public static string PartitionDirectory(string root, int partition = 0) =>
        Path.Combine(root, "topics", Topic, partition.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string SegmentPath(string root, long baseOffset) => Path.Combine(PartitionDirectory(root), $"{baseOffset:D20}.log");

    public static string[] SegmentFiles(string root) =>
        Directory.GetFiles(PartitionDirectory(root), "*.log").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    public static void Truncate(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    public static void FlipByte(string path, long position)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        stream.Position = position;
        var b = stream.ReadByte();
        stream.Position = position;
        stream.WriteByte((byte)(b ^ 0x5A));
    }

    public static async Task WithContext(string context, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex)
        {
            throw new XunitException($"{context}: {ex.Message}", ex);
        }
    }
}
