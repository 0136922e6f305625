using System.Buffers.Binary;
using OrleansMQ.Faults.History;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>
/// The disk nemesis: damages the last segment file of a file-log partition while its silo is stopped, and says exactly
/// which records it destroyed. It walks the frames itself (u32 length, u32 CRC-32C, payload whose bytes 1..8 are the
/// offset; see LogRecordCodec) rather than trusting the broker's recovery to tell.
/// </summary>
public static class SegmentCorruptor
{
    private const int FrameHeader = 8;

    /// <summary>The segment files of a partition (…/topics/{topic}/{partition}/*.log), oldest first.</summary>
    public static string[] Segments(string dataDirectory, string topic, int partition)
    {
        var directory = Path.Combine(dataDirectory, "topics", topic, partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return System.IO.Directory.Exists(directory) ? [.. System.IO.Directory.GetFiles(directory, "*.log").Order(StringComparer.Ordinal)] : [];
    }

    /// <summary>
    /// Damages one of the last <paramref name="lastRecords"/> records of the partition's last segment: "torn-tail" cuts
    /// the file inside that record, "bit-flip" flips one bit of it (header or payload). Null when the partition has no records.
    /// </summary>
    public static DiskFaultRecord? Corrupt(string dataDirectory, string topic, int partition, string kind, Random random, int lastRecords, IReadOnlyList<string> before)
    {
        var segment = Segments(dataDirectory, topic, partition).LastOrDefault();
        if (segment is null)
        {
            return null;
        }

        var frames = Frames(segment);
        if (frames.Count == 0)
        {
            return null;
        }

        var victim = frames[random.Next(Math.Max(0, frames.Count - lastRecords), frames.Count)];
        long position;
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            switch (kind)
            {
                case "torn-tail":
                    // Anywhere from just after the frame's first byte to just before its last: the frame is incomplete.
                    position = victim.Position + 1 + random.NextInt64(victim.Size - 1);
                    file.SetLength(position);
                    break;
                case "bit-flip":
                    position = victim.Position + random.NextInt64(victim.Size);
                    file.Position = position;
                    var value = file.ReadByte();
                    file.Position = position;
                    file.WriteByte((byte)(value ^ (1 << random.Next(8))));
                    break;
                default:
                    throw new ArgumentException($"Unknown disk fault '{kind}' (torn-tail or bit-flip).", nameof(kind));
            }

            file.Flush(flushToDisk: true);
        }

        return new DiskFaultRecord(topic, partition, victim.Offset, kind, segment, position, before);
    }

    /// <summary>The well-formed frames of a segment: position, size (header included) and offset.</summary>
    public static List<(long Position, long Size, long Offset)> Frames(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var frames = new List<(long, long, long)>();
        var position = 0;
        while (position + FrameHeader + 9 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position));
            if (length < 9 || position + FrameHeader + (long)length > bytes.Length)
            {
                break;
            }

            var offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(position + FrameHeader + 1));
            frames.Add((position, FrameHeader + length, offset));
            position += FrameHeader + length;
        }

        return frames;
    }
}
