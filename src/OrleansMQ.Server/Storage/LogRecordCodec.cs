using System.Buffers.Binary;
using System.Text;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The binary form of a <see cref="LogRecord"/>: the on-disk frame of the file log, and the size measure every backend
/// uses for segment rolling, read byte limits and backlog estimates (so all backends agree on sizes).
/// </summary>
/// <remarks>
/// <code>
/// frame    u32 length      payload length in bytes (little-endian, like every integer below)
///          u32 crc         CRC-32C of the payload
///          payload
/// payload  u8  format      1
///          i64 offset
///          i64 timestamp   UTC ticks
///          i16 utcOffset   the time stamp's offset from UTC, in minutes (kept so records round-trip exactly)
///          i64 sequence    producer sequence number
///          str key, str messageId, str contentType, str producerId
///          var headerCount then headerCount × (str name, str value)
///          ... body        the rest of the payload
/// reference payload (format 2, file log only: a copy of a fan-out whose key-to-body part is stored once, see FanOutStore)
///          u8  format      2
///          i64 offset, i64 timestamp, i16 utcOffset, i64 sequence   as above
///          i64 storeOffset the fan-out store record holding the key-to-body part
///          u32 tailLength  its length in bytes
///          u32 tailCrc     CRC-32C of those bytes
/// str      var (UTF-8 byte count + 1), then the bytes; 0 encodes null
/// var      unsigned LEB128 (7 bits per byte, low groups first), at most 5 bytes
/// </code>
/// The fixed fields come first so recovery and time-stamp lookups read offset and time without decoding strings.
/// </remarks>
internal static class LogRecordCodec
{
    /// <summary>Bytes of the frame header (length + CRC).</summary>
    public const int FrameHeaderSize = 8;

    /// <summary>Bytes of the fixed payload fields (format through sequence).</summary>
    public const int FixedPayloadSize = 1 + 8 + 8 + 2 + 8;

    /// <summary>The smallest valid payload: fixed fields, four null strings, no headers, empty body.</summary>
    public const int MinPayloadSize = FixedPayloadSize + 5;

    /// <summary>Upper bound of one frame. Far above the largest message (16 MiB), low enough that a corrupt length is caught.</summary>
    public const int MaxFrameSize = 64 * 1024 * 1024;

    /// <summary>The payload format version written by this code.</summary>
    public const byte FormatVersion = 1;

    /// <summary>The payload format of a reference record (a fan-out copy whose key-to-body part is in the fan-out store).</summary>
    public const byte ReferenceFormat = 2;

    /// <summary>The payload size of a reference record.</summary>
    public const int ReferencePayloadSize = FixedPayloadSize + 8 + 4 + 4;

    /// <summary>The frame size of a reference record.</summary>
    public const int ReferenceFrameSize = FrameHeaderSize + ReferencePayloadSize;

    private const int OffsetField = 1;

    // Strings of at most this many UTF-16 units encode to at most 3 × 42 = 126 bytes: a one-byte length prefix.
    private const int ShortString = 42;
    private const int TimestampField = 9;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>The frame size of <paramref name="record"/>, header included.</summary>
    /// <exception cref="ArgumentException">The record is larger than <see cref="MaxFrameSize"/>.</exception>
    public static int GetFrameSize(LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.StoreOffset >= 0)
        {
            return ReferenceFrameSize;
        }

        long size = FrameHeaderSize + FixedPayloadSize + (record.EncodedTail.IsEmpty
            ? GetTailSize(record.Key, record.MessageId, record.ContentType, record.ProducerId, record.Headers, record.Body.Length)
            : record.EncodedTail.Length);
        if (size > MaxFrameSize)
        {
            throw new ArgumentException($"A log record of {size} bytes exceeds the limit of {MaxFrameSize} bytes.", nameof(record));
        }

        return (int)size;
    }

    /// <summary>
    /// The size of the variable part of a payload (key through body): what <see cref="EncodeTail"/> writes, and what a
    /// <see cref="LogRecord.EncodedTail"/> holds.
    /// </summary>
    public static long GetTailSize(string? key, string? messageId, string? contentType, string? producerId, IReadOnlyDictionary<string, string>? headers, int bodyLength)
    {
        long size = StringSize(key) + StringSize(messageId) + StringSize(contentType) + StringSize(producerId);
        var headerCount = headers?.Count ?? 0;
        size += VarIntSize((uint)headerCount);
        if (headerCount > 0)
        {
            foreach (var (name, value) in headers!)
            {
                size += StringSize(name) + StringSize(value);
            }
        }

        return size + bodyLength;
    }

    /// <summary>
    /// Writes the variable part of a payload (key through body) into <paramref name="destination"/> and returns its
    /// length, which must be <paramref name="expectedSize"/> (from <see cref="GetTailSize"/>). A fan-out encodes its
    /// shared message once this way and every copy's record carries the bytes as its <see cref="LogRecord.EncodedTail"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The fields changed since they were measured.</exception>
    public static int EncodeTail(string? key, string? messageId, string? contentType, string? producerId, IReadOnlyDictionary<string, string>? headers, ReadOnlySpan<byte> body, int expectedSize, Span<byte> destination)
    {
        var tail = destination[..expectedSize];
        var pos = WriteString(tail, key);
        pos += WriteString(tail[pos..], messageId);
        pos += WriteString(tail[pos..], contentType);
        pos += WriteString(tail[pos..], producerId);
        var headerCount = headers?.Count ?? 0;
        pos += WriteVarInt(tail[pos..], (uint)headerCount);
        if (headerCount > 0)
        {
            foreach (var (name, value) in headers!)
            {
                pos += WriteString(tail[pos..], name);
                pos += WriteString(tail[pos..], value);
            }
        }

        body.CopyTo(tail[pos..]);
        if (pos + body.Length != expectedSize)
        {
            // The record changed between measuring and writing (e.g. headers mutated by another thread).
            throw new InvalidOperationException("A log record changed while it was being appended.");
        }

        return expectedSize;
    }

    /// <summary>
    /// Writes the frame of <paramref name="record"/> with <paramref name="offset"/> into <paramref name="destination"/>, which
    /// must hold <paramref name="frameSize"/> bytes (from <see cref="GetFrameSize"/>).
    /// </summary>
    public static void Write(LogRecord record, long offset, int frameSize, Span<byte> destination)
    {
        var frame = destination[..frameSize];
        var payload = frame[FrameHeaderSize..];
        payload[0] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(payload[OffsetField..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(payload[TimestampField..], record.Timestamp.UtcTicks);
        BinaryPrimitives.WriteInt16LittleEndian(payload[17..], (short)record.Timestamp.TotalOffsetMinutes);
        BinaryPrimitives.WriteInt64LittleEndian(payload[19..], record.Sequence);
        var tail = payload[FixedPayloadSize..];
        if (record.StoreOffset >= 0)
        {
            if (frameSize != ReferenceFrameSize || record.Shared is not { Crc: { } crc } shared)
            {
                throw new InvalidOperationException("A log record changed while it was being appended.");
            }

            payload[0] = ReferenceFormat;
            BinaryPrimitives.WriteInt64LittleEndian(tail, record.StoreOffset);
            BinaryPrimitives.WriteInt32LittleEndian(tail[8..], shared.Bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(tail[12..], crc);
        }
        else if (!record.EncodedTail.IsEmpty)
        {
            if (record.EncodedTail.Length != tail.Length)
            {
                throw new InvalidOperationException("A log record changed while it was being appended.");
            }

            record.EncodedTail.Span.CopyTo(tail);
        }
        else
        {
            EncodeTail(record.Key, record.MessageId, record.ContentType, record.ProducerId, record.Headers, record.Body.Span, tail.Length, tail);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Crc32C.Compute(payload));
    }

    /// <summary>Reads a frame header. False when the length cannot belong to a valid record.</summary>
    public static bool TryReadFrameHeader(ReadOnlySpan<byte> header, out int payloadLength, out uint crc)
    {
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (length < MinPayloadSize || length > MaxFrameSize - FrameHeaderSize)
        {
            payloadLength = 0;
            return false;
        }

        payloadLength = (int)length;
        return true;
    }

    /// <summary>True when the payload's CRC matches and its format is known (so its fixed fields can be read).</summary>
    public static bool IsValidPayload(ReadOnlySpan<byte> payload, uint crc) =>
        payload.Length >= MinPayloadSize
        && (payload[0] == FormatVersion || (payload[0] == ReferenceFormat && payload.Length == ReferencePayloadSize))
        && Crc32C.Compute(payload) == crc;

    /// <summary>True when a valid payload is a reference record (format 2), whose key-to-body part is in the fan-out store.</summary>
    public static bool IsReference(ReadOnlySpan<byte> payload) => payload[0] == ReferenceFormat;

    /// <summary>The store reference of a reference payload (<see cref="IsReference"/>).</summary>
    public static StoreReference ReadReference(ReadOnlySpan<byte> payload)
    {
        var fields = payload[FixedPayloadSize..];
        return new StoreReference(
            BinaryPrimitives.ReadInt64LittleEndian(fields),
            BinaryPrimitives.ReadInt32LittleEndian(fields[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(fields[12..]));
    }

    /// <summary>The key-to-body part of a format-1 payload (what a fan-out store record holds for its references).</summary>
    public static ReadOnlySpan<byte> Tail(ReadOnlySpan<byte> payload) => payload[FixedPayloadSize..];

    /// <summary>The offset field of a payload.</summary>
    public static long ReadOffset(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt64LittleEndian(payload[OffsetField..]);

    /// <summary>The UTC ticks of a payload's time stamp.</summary>
    public static long ReadTimestampTicks(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadInt64LittleEndian(payload[TimestampField..]);

    /// <summary>Decodes a payload whose CRC was checked.</summary>
    /// <exception cref="InvalidDataException">The payload is malformed.</exception>
    public static LogRecord Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < MinPayloadSize || payload[0] != FormatVersion)
        {
            throw new InvalidDataException(payload.Length >= MinPayloadSize && payload[0] == ReferenceFormat
                ? "A reference record (format 2) needs the fan-out store that holds its message."
                : $"Unknown log record format {(payload.IsEmpty ? -1 : payload[0])} or payload too short ({payload.Length} bytes).");
        }

        return Decode(payload, payload[FixedPayloadSize..]);
    }

    /// <summary>
    /// Decodes a record from the fixed fields of <paramref name="payload"/> (format 1 or a reference) and the key-to-body
    /// part <paramref name="tail"/> (the payload's own, or the one its reference names).
    /// </summary>
    /// <exception cref="InvalidDataException">The payload or the tail is malformed.</exception>
    public static LogRecord Decode(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> tail)
    {
        var ticks = ReadTimestampTicks(payload);
        var offsetMinutes = BinaryPrimitives.ReadInt16LittleEndian(payload[17..]);
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(payload[19..]);
        var pos = 0;
        var key = ReadString(tail, ref pos);
        var messageId = ReadString(tail, ref pos);
        var contentType = ReadString(tail, ref pos);
        var producerId = ReadString(tail, ref pos);
        var headerCount = ReadVarInt(tail, ref pos);
        Dictionary<string, string>? headers = null;
        if (headerCount > 0)
        {
            if (headerCount > (uint)(tail.Length - pos) / 2)
            {
                throw new InvalidDataException($"Log record claims {headerCount} headers in {tail.Length - pos} bytes.");
            }

            headers = new Dictionary<string, string>((int)headerCount, StringComparer.Ordinal);
            for (var i = 0; i < headerCount; i++)
            {
                var name = ReadString(tail, ref pos) ?? throw new InvalidDataException("Log record has a null header name.");
                headers[name] = ReadString(tail, ref pos) ?? string.Empty;
            }
        }

        DateTimeOffset timestamp;
        try
        {
            timestamp = new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offsetMinutes));
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidDataException($"Log record has an invalid time stamp ({ticks} ticks, {offsetMinutes} minutes).", ex);
        }

        return new LogRecord
        {
            Offset = ReadOffset(payload),
            Timestamp = timestamp,
            Key = key,
            MessageId = messageId,
            ContentType = contentType,
            Headers = headers,
            ProducerId = producerId,
            Sequence = sequence,
            Body = tail[pos..].ToArray(),
        };
    }

    private static int StringSize(string? value)
    {
        if (value is null)
        {
            return 1;
        }

        var bytes = Utf8.GetByteCount(value);
        return VarIntSize((uint)bytes + 1) + bytes;
    }

    private static int VarIntSize(uint value) => value < 1u << 7 ? 1 : value < 1u << 14 ? 2 : value < 1u << 21 ? 3 : value < 1u << 28 ? 4 : 5;

    private static int WriteString(Span<byte> destination, string? value)
    {
        if (value is null)
        {
            destination[0] = 0;
            return 1;
        }

        if (value.Length <= ShortString)
        {
            // At most 3 UTF-8 bytes per UTF-16 unit, so the length prefix takes one byte: encode without counting first.
            var written = Utf8.GetBytes(value, destination[1..]);
            destination[0] = (byte)(written + 1);
            return written + 1;
        }

        var bytes = Utf8.GetByteCount(value);
        var pos = WriteVarInt(destination, (uint)bytes + 1);
        return pos + Utf8.GetBytes(value, destination[pos..]);
    }

    private static int WriteVarInt(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    private static string? ReadString(ReadOnlySpan<byte> payload, ref int pos)
    {
        var encoded = ReadVarInt(payload, ref pos);
        if (encoded == 0)
        {
            return null;
        }

        var length = encoded - 1;
        if (length > (uint)(payload.Length - pos))
        {
            throw new InvalidDataException($"Log record string of {length} bytes overruns the payload at byte {pos}.");
        }

        var value = Utf8.GetString(payload.Slice(pos, (int)length));
        pos += (int)length;
        return value;
    }

    private static uint ReadVarInt(ReadOnlySpan<byte> payload, ref int pos)
    {
        uint result = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (pos >= payload.Length)
            {
                throw new InvalidDataException("Log record ends inside a length field.");
            }

            var b = payload[pos++];
            result |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Log record has a malformed length field.");
    }
}
