using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// The file log's segment reader: the input becomes the only segment file of a partition, which is then opened
/// (recovery: scan, cut the torn or invalid tail), read from start to end, appended to and read back.
/// </summary>
/// <remarks>
/// The first input byte holds flags that let the fuzzer get past the checksums it cannot forge: bit 0 rewrites the
/// offset field of each frame to the expected sequence, bit 1 recomputes each frame's CRC. So mutated payloads reach the
/// record decoder through recovery, as a bug or a bad disk could make them.
/// Promises checked: opening never fails for a lone active segment; the recovered records are offsets 0..n-1 with no
/// gap; reads fail only with <see cref="LogCorruptionException"/>; recovery only shortens the file; an append after
/// recovery gets offset n and reads back intact.
/// </remarks>
internal sealed class SegmentTarget : IFuzzTarget, IDisposable
{
    public const string TargetName = "segment";

    private const string Topic = "fuzz";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omq-fuzz", Guid.NewGuid().ToString("N"));
    private readonly FileMessageLogFactory _factory;
    private readonly string _segmentPath;

    public SegmentTarget()
    {
        _factory = new FileMessageLogFactory(Options.Create(new FileLogOptions
        {
            DataDirectory = _root,
            FsyncPolicy = FsyncPolicy.Never,
            IndexIntervalBytes = 256,
        }));
        var directory = Path.Combine(_root, "topics", Topic, "0");
        Directory.CreateDirectory(directory);
        _segmentPath = Path.Combine(directory, 0L.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".log");
    }

    public string Name => TargetName;

    public bool IsExpected(Exception exception) => exception is LogCorruptionException;

    public void Run(ReadOnlySpan<byte> data)
    {
        var flags = data.IsEmpty ? 0 : data[0];
        var bytes = data.IsEmpty ? [] : data[1..].ToArray();
        FixUp(bytes, fixOffsets: (flags & 1) != 0, fixChecksums: (flags & 2) != 0);
        File.WriteAllBytes(_segmentPath, bytes);
        var log = _factory.OpenAsync(Topic, 0).AsTask().GetAwaiter().GetResult();
        try
        {
            Check(log, bytes.Length);
        }
        finally
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
            File.Delete(_segmentPath);
        }
    }

    public void Dispose()
    {
        _factory.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private void Check(IMessageLog log, int inputLength)
    {
        var high = log.HighWatermark;
        FuzzInvariantException.Check(log.LowWatermark == 0, $"low watermark {log.LowWatermark} of a lone segment 0");
        FuzzInvariantException.Check(new FileInfo(_segmentPath).Length <= inputLength, "recovery made the segment longer");
        long next = 0;
        while (next < high)
        {
            var batch = log.ReadAsync(next, 64, 1 << 20).AsTask().GetAwaiter().GetResult();
            FuzzInvariantException.Check(batch.Count > 0, $"a read at {next} below the high watermark {high} returned nothing");
            foreach (var record in batch)
            {
                FuzzInvariantException.Check(record.Offset == next, $"read offset {record.Offset} where {next} was expected");
                next++;
            }
        }

        var appended = new LogRecord { Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), MessageId = "after-recovery", Body = new byte[] { 1, 2, 3 } };
        var offset = log.AppendAsync([appended]).AsTask().GetAwaiter().GetResult();
        FuzzInvariantException.Check(offset == high, $"an append after recovery got offset {offset}, not the high watermark {high}");
        var back = log.ReadAsync(offset, 1, 1 << 20).AsTask().GetAwaiter().GetResult();
        FuzzInvariantException.Check(back.Count == 1, "the appended record did not read back");
        appended.Offset = offset;
        LogRecordTarget.AssertSame(appended, back[0]);
    }

    // Walks the frames the input describes, making their offsets sequential and/or their CRCs valid.
    private static void FixUp(byte[] bytes, bool fixOffsets, bool fixChecksums)
    {
        if (!fixOffsets && !fixChecksums)
        {
            return;
        }

        var position = 0;
        long offset = 0;
        while (position + LogRecordCodec.FrameHeaderSize <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position));
            if (length > (uint)(bytes.Length - position - LogRecordCodec.FrameHeaderSize))
            {
                return;
            }

            var payload = bytes.AsSpan(position + LogRecordCodec.FrameHeaderSize, (int)length);
            if (fixOffsets && payload.Length >= 9)
            {
                BinaryPrimitives.WriteInt64LittleEndian(payload[1..], offset++);
            }

            if (fixChecksums)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(position + 4), Crc32C.Compute(payload));
            }

            position += LogRecordCodec.FrameHeaderSize + (int)length;
        }
    }
}
