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
    internal const byte AlternateFlag = 1;
    internal const byte ErrorFlag = 2;

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
        var deliveries = 0;
        for (var i = 0; i < receipts.Count; i++)
        {
            deliveries += receipts[i].Deliveries.Count;
        }

        var writer = new RoutedBatchReceiptWriter(receipts.Count, deliveries);
        for (var i = 0; i < receipts.Count; i++)
        {
            var receipt = receipts[i];
            if (receipt.Error is { } code)
            {
                writer.Refused(code, receipt.ErrorMessage ?? code.ToString(), receipt.Alternate);
                continue;
            }

            var list = receipt.Deliveries;
            writer.Routed(list.Count, receipt.Alternate);
            for (var j = 0; j < list.Count; j++)
            {
                var (topic, r) = list[j];
                writer.Delivery(writer.Topic(topic), r);
            }
        }

        return writer.Complete();
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
/// Writes a <see cref="RoutedBatchReceipt"/> message by message (the format is described on
/// <see cref="RoutedBatchReceipt.Packed"/>), so that a router can pack its answer straight from what the partitions
/// answered, with no receipt object per message or per copy in between.
/// </summary>
internal sealed class RoutedBatchReceiptWriter
{
    // Per message at most a flags byte and two 5-byte varints; per delivery at most 5 + 5 + 10 bytes of varints.
    private const int MaxMessageBytes = 11;
    private const int MaxDeliveryBytes = 20;

    private readonly List<string> _topics = [];
    private readonly Dictionary<string, int> _topicIndex = new(StringComparer.Ordinal);
    private readonly List<string> _errors = [];
    private readonly int _count;
    private byte[] _buffer;
    private int _position;
    private int _written;

    /// <param name="messages">The number of messages (receipts) that will be written.</param>
    /// <param name="deliveries">The total number of deliveries that will be written (sizes the buffer).</param>
    public RoutedBatchReceiptWriter(int messages, int deliveries)
    {
        _count = messages;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, (messages * MaxMessageBytes) + (deliveries * MaxDeliveryBytes)));
    }

    /// <summary>The index of a destination topic, for <see cref="Delivery"/>: each name is sent once.</summary>
    public int Topic(string topic)
    {
        if (!_topicIndex.TryGetValue(topic, out var index))
        {
            _topicIndex[topic] = index = _topics.Count;
            _topics.Add(topic);
        }

        return index;
    }

    /// <summary>The next message was refused.</summary>
    public void Refused(ErrorCode code, string message, bool alternate)
    {
        Reserve(MaxMessageBytes);
        _buffer[_position++] = (byte)(RoutedBatchReceipt.ErrorFlag | (alternate ? RoutedBatchReceipt.AlternateFlag : 0));
        WriteVarint((ulong)code);
        WriteVarint((ulong)_errors.Count);
        _errors.Add(message);
        _written++;
    }

    /// <summary>The next message was routed; its <paramref name="deliveries"/> follow with <see cref="Delivery"/>.</summary>
    public void Routed(int deliveries, bool alternate)
    {
        Reserve(MaxMessageBytes);
        _buffer[_position++] = alternate ? RoutedBatchReceipt.AlternateFlag : (byte)0;
        WriteVarint((ulong)deliveries);
        _written++;
    }

    /// <summary>One delivery of the current message: <paramref name="topic"/> is an index from <see cref="Topic"/>.</summary>
    public void Delivery(int topic, PublishReceipt receipt)
    {
        Reserve(MaxDeliveryBytes);
        WriteVarint(((ulong)topic << 1) | (receipt.Duplicate ? 1UL : 0UL));
        WriteVarint((ulong)receipt.Partition);
        WriteVarint((ulong)receipt.Offset);
    }

    /// <summary>The receipt; the writer's buffer goes back to the pool.</summary>
    public RoutedBatchReceipt Complete()
    {
        if (_written != _count)
        {
            throw new InvalidOperationException($"{_written} of {_count} receipts were written.");
        }

        var packed = _buffer.AsSpan(0, _position).ToArray();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        return new RoutedBatchReceipt { Topics = _topics, Packed = packed, Count = _count, ErrorMessages = _errors };
    }

    // The buffer is sized from the counts given up front; this only grows it when a caller wrote more than it said.
    private void Reserve(int bytes)
    {
        if (_buffer.Length - _position < bytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _position + bytes));
            _buffer.AsSpan(0, _position).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    private void WriteVarint(ulong value)
    {
        var buffer = _buffer;
        var n = _position;
        while (value >= 0x80)
        {
            buffer[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[n++] = (byte)value;
        _position = n;
    }
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
