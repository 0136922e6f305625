using System.Buffers;

namespace OrleansMQ;

/// <summary>
/// The receipts of one routed batch in a compact wire form: every destination topic name once, and per message its
/// deliveries packed as varints (topic index, partition, offset) in one byte array. A 10-way fan-out then costs a few
/// bytes per copy on the wire instead of a serialized topic name and receipt object per copy.
/// </summary>
[GenerateSerializer, Immutable, Alias("omq.routed-batch")]
public sealed record RoutedBatchReceipt
{
    private const byte AlternateFlag = 1;
    private const byte ErrorFlag = 2;

    /// <summary>The distinct destination topics of the batch; deliveries refer to them by index.</summary>
    [Id(0)] public required IReadOnlyList<string> Topics { get; init; }

    /// <summary>
    /// Per message, in order: a flags byte (1 = alternate, 2 = refused), then for a refused message its error code and
    /// the index into <see cref="ErrorMessages"/>, otherwise the delivery count and per delivery
    /// (topic index × 2 + duplicate), partition, offset — all unsigned LEB128 varints.
    /// </summary>
    [Id(1)] public required byte[] Packed { get; init; }

    /// <summary>The number of messages in <see cref="Packed"/>.</summary>
    [Id(2)] public required int Count { get; init; }

    /// <summary>The messages of refused messages' errors, referred to from <see cref="Packed"/>.</summary>
    [Id(3)] public IReadOnlyList<string> ErrorMessages { get; init; } = [];

    /// <summary>Packs receipts (one per message, in order).</summary>
    /// <param name="receipts">The receipts to pack.</param>
    public static RoutedBatchReceipt Pack(IReadOnlyList<RoutedReceipt> receipts)
    {
        ArgumentNullException.ThrowIfNull(receipts);
        var topics = new List<string>();
        var topicIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<string>();
        var buffer = new ArrayBufferWriter<byte>(Math.Max(16, receipts.Count * 8));
        for (var i = 0; i < receipts.Count; i++)
        {
            var receipt = receipts[i];
            if (receipt.Error is { } code)
            {
                WriteByte(buffer, ErrorFlag | (receipt.Alternate ? AlternateFlag : 0));
                WriteVarint(buffer, (ulong)code);
                WriteVarint(buffer, (ulong)errors.Count);
                errors.Add(receipt.ErrorMessage ?? code.ToString());
                continue;
            }

            var deliveries = receipt.Deliveries;
            WriteByte(buffer, receipt.Alternate ? AlternateFlag : 0);
            WriteVarint(buffer, (ulong)deliveries.Count);
            for (var j = 0; j < deliveries.Count; j++)
            {
                var (topic, r) = deliveries[j];
                if (!topicIndex.TryGetValue(topic, out var index))
                {
                    topicIndex[topic] = index = topics.Count;
                    topics.Add(topic);
                }

                WriteVarint(buffer, ((ulong)index << 1) | (r.Duplicate ? 1UL : 0UL));
                WriteVarint(buffer, (ulong)r.Partition);
                WriteVarint(buffer, (ulong)r.Offset);
            }
        }

        return new RoutedBatchReceipt { Topics = topics, Packed = buffer.WrittenSpan.ToArray(), Count = receipts.Count, ErrorMessages = errors };
    }

    /// <summary>Unpacks the receipts, one per message in the order they were routed.</summary>
    /// <remarks>
    /// The whole array is checked here; each receipt's deliveries are decoded from the packed bytes only when they are
    /// first read (most publishers never look at them, and a 10-way fan-out would otherwise cost 10 objects per message).
    /// </remarks>
    /// <exception cref="OrleansMQException"><see cref="ErrorCode.Internal"/> when the packed bytes are malformed.</exception>
    public RoutedReceipt[] Unpack()
    {
        if (Count < 0 || Count > Packed.Length)
        {
            throw Malformed();
        }

        var result = new RoutedReceipt[Count];
        var span = Packed.AsSpan();
        var position = 0;
        for (var i = 0; i < Count; i++)
        {
            var flags = ReadByte(span, ref position);
            var alternate = (flags & AlternateFlag) != 0;
            if ((flags & ErrorFlag) != 0)
            {
                var code = (ErrorCode)(int)Math.Min(ReadVarint(span, ref position), int.MaxValue);
                var message = At(ErrorMessages, ReadVarint(span, ref position));
                result[i] = new RoutedReceipt { Deliveries = [], Alternate = alternate, Error = code, ErrorMessage = message };
                continue;
            }

            var count = ReadVarint(span, ref position) is var n && n <= (ulong)(span.Length - position) ? (int)n : throw Malformed();
            var first = position;
            for (var j = 0; j < count; j++)
            {
                ReadDelivery(span, ref position);
            }

            result[i] = new RoutedReceipt { Deliveries = count == 0 ? [] : new PackedDeliveries(this, first, count), Alternate = alternate };
        }

        return position == span.Length ? result : throw Malformed();
    }

    /// <summary>Decodes <paramref name="count"/> deliveries packed from <paramref name="position"/> (checked by <see cref="Unpack"/>).</summary>
    internal TopicReceipt[] DecodeDeliveries(int position, int count)
    {
        var deliveries = new TopicReceipt[count];
        var span = Packed.AsSpan();
        for (var j = 0; j < count; j++)
        {
            deliveries[j] = ReadDelivery(span, ref position);
        }

        return deliveries;
    }

    private TopicReceipt ReadDelivery(ReadOnlySpan<byte> span, ref int position)
    {
        var topicAndFlag = ReadVarint(span, ref position);
        var partition = ReadVarint(span, ref position) is var p && p <= int.MaxValue ? (int)p : throw Malformed();
        var offset = ReadVarint(span, ref position) is var o && o <= long.MaxValue ? (long)o : throw Malformed();
        return new TopicReceipt(At(Topics, topicAndFlag >> 1), new PublishReceipt(partition, offset, (topicAndFlag & 1) != 0));
    }

    private static void WriteByte(ArrayBufferWriter<byte> buffer, int value)
    {
        buffer.GetSpan(1)[0] = (byte)value;
        buffer.Advance(1);
    }

    private static void WriteVarint(ArrayBufferWriter<byte> buffer, ulong value)
    {
        var span = buffer.GetSpan(10);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        buffer.Advance(n);
    }

    private static byte ReadByte(ReadOnlySpan<byte> span, ref int position) =>
        position < span.Length ? span[position++] : throw Malformed();

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte(span, ref position);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Malformed();
    }

    private static string At(IReadOnlyList<string> list, ulong index) => index < (ulong)list.Count ? list[(int)index] : throw Malformed();

    private static OrleansMQException Malformed() => new(ErrorCode.Internal, "A routed batch receipt is malformed.");
}

/// <summary>
/// One message's deliveries, still packed in its <see cref="RoutedBatchReceipt"/>: decoded on first read, then kept.
/// </summary>
[GenerateSerializer, Alias("omq.packed-deliveries")]
internal sealed class PackedDeliveries : IReadOnlyList<TopicReceipt>
{
    [Id(0)] private readonly RoutedBatchReceipt _batch;
    [Id(1)] private readonly int _position;
    [Id(2)] private readonly int _count;
    [NonSerialized] private TopicReceipt[]? _decoded;

    public PackedDeliveries(RoutedBatchReceipt batch, int position, int count)
    {
        _batch = batch;
        _position = position;
        _count = count;
    }

    public int Count => _count;

    public TopicReceipt this[int index] => Decoded[index];

    private TopicReceipt[] Decoded => _decoded ??= _batch.DecodeDeliveries(_position, _count);

    public IEnumerator<TopicReceipt> GetEnumerator() => ((IEnumerable<TopicReceipt>)Decoded).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
