using System.Buffers.Binary;
using System.Text;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

public sealed class LogRecordCodecTests
{
    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
        // 32 zero bytes: RFC 3720 (iSCSI) test vector.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void A_frame_holds_length_crc_and_a_payload_that_decodes_to_the_record()
    {
        var record = TestRecords.Create(7);
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];

        LogRecordCodec.Write(record, 42, size, frame);

        Assert.Equal((uint)(size - 8), BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(Crc32C.Compute(frame.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4)));
        Assert.True(LogRecordCodec.TryReadFrameHeader(frame, out var length, out var crc));
        Assert.True(LogRecordCodec.IsValidPayload(frame.AsSpan(8, length), crc));
        Assert.Equal(42, LogRecordCodec.ReadOffset(frame.AsSpan(8)));
        Assert.Equal(record.Timestamp.UtcTicks, LogRecordCodec.ReadTimestampTicks(frame.AsSpan(8)));
        record.Offset = 42;
        TestRecords.AssertSame(record, LogRecordCodec.Decode(frame.AsSpan(8)));
    }

    [Fact]
    public void Null_and_empty_strings_stay_distinct()
    {
        var record = new LogRecord { Key = "", MessageId = null, ContentType = "", ProducerId = null };
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];
        LogRecordCodec.Write(record, 0, size, frame);

        var decoded = LogRecordCodec.Decode(frame.AsSpan(8));

        Assert.Equal("", decoded.Key);
        Assert.Null(decoded.MessageId);
        Assert.Equal("", decoded.ContentType);
        Assert.Null(decoded.ProducerId);
        Assert.Null(decoded.Headers);
        Assert.Equal(LogRecordCodec.FrameHeaderSize + LogRecordCodec.MinPayloadSize, size);
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_the_payload_fails_the_crc()
    {
        var record = TestRecords.Create(1, bodyBytes: 40);
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];
        LogRecordCodec.Write(record, 0, size, frame);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4));

        for (var i = 8; i < size; i++)
        {
            frame[i] ^= 0x10;
            Assert.False(LogRecordCodec.IsValidPayload(frame.AsSpan(8), crc), $"flip at byte {i}");
            frame[i] ^= 0x10;
        }
    }

    [Fact]
    public void Lengths_out_of_range_are_rejected()
    {
        var header = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0);
        Assert.False(LogRecordCodec.TryReadFrameHeader(header, out _, out _));
        BinaryPrimitives.WriteUInt32LittleEndian(header, uint.MaxValue);
        Assert.False(LogRecordCodec.TryReadFrameHeader(header, out _, out _));
        Assert.Throws<ArgumentException>(() => LogRecordCodec.GetFrameSize(new LogRecord { Body = new byte[LogRecordCodec.MaxFrameSize] }));
    }

    public static TheoryData<string?> Strings() =>
    [
        null,
        "",
        "ascii",
        new string('a', 42),          // the longest string that skips counting, 42 bytes
        new string('\u20AC', 42),     // 42 × 3 bytes = 126: still a one-byte length prefix
        new string('\u20AC', 43),     // 129 bytes: a two-byte prefix, counted first
        string.Concat(Enumerable.Repeat("\U0001F600", 21)), // 42 UTF-16 units, 84 bytes (surrogate pairs)
        "\uD800 lone surrogate",      // replaced by U+FFFD (3 bytes), as UTF8Encoding does
        new string('x', 300),
    ];

    [Theory]
    [MemberData(nameof(Strings))]
    public void Strings_of_any_length_and_script_round_trip(string? value)
    {
        var record = new LogRecord
        {
            Key = value,
            MessageId = value,
            ContentType = "text/plain",
            Headers = value is null ? null : new Dictionary<string, string> { [value + "-name"] = value },
            Body = new byte[] { 1, 2, 3 },
        };
        var size = LogRecordCodec.GetFrameSize(record);
        var frame = new byte[size];

        LogRecordCodec.Write(record, 5, size, frame);

        var decoded = LogRecordCodec.Decode(frame.AsSpan(8));
        var expected = value?.Replace("\uD800", "\uFFFD", StringComparison.Ordinal);
        Assert.Equal(expected, decoded.Key);
        Assert.Equal(expected, decoded.MessageId);
        Assert.Equal(value is null ? null : new Dictionary<string, string> { [expected + "-name"] = expected! }, decoded.Headers);
    }

    [Fact]
    public void A_record_with_its_fields_already_encoded_writes_the_same_frame()
    {
        // What a fan-out does: the router encodes the shared message once and every copy's record carries the bytes.
        var record = TestRecords.Create(3, bodyBytes: 100);
        var tailSize = (int)LogRecordCodec.GetTailSize(record.Key, record.MessageId, record.ContentType, record.ProducerId, record.Headers, record.Body.Length);
        var tail = new byte[tailSize];
        LogRecordCodec.EncodeTail(record.Key, record.MessageId, record.ContentType, record.ProducerId, record.Headers, record.Body.Span, tailSize, tail);
        var copy = new LogRecord
        {
            Timestamp = record.Timestamp,
            Key = record.Key,
            MessageId = record.MessageId,
            ContentType = record.ContentType,
            Headers = record.Headers,
            Body = record.Body,
            ProducerId = record.ProducerId,
            Sequence = record.Sequence,
            EncodedTail = tail,
        };

        var size = LogRecordCodec.GetFrameSize(record);
        Assert.Equal(size, LogRecordCodec.GetFrameSize(copy));
        var expected = new byte[size];
        var actual = new byte[size];
        LogRecordCodec.Write(record, 9, size, expected);
        LogRecordCodec.Write(copy, 9, size, actual);

        Assert.Equal(expected, actual);
        copy.Offset = 9;
        TestRecords.AssertSame(copy, LogRecordCodec.Decode(actual.AsSpan(8)));
    }

    [Fact]
    public void A_pre_encoded_tail_of_the_wrong_size_is_refused()
    {
        var record = new LogRecord { Key = "k", EncodedTail = new byte[3] };
        var size = LogRecordCodec.GetFrameSize(record);

        Assert.Throws<InvalidOperationException>(() => LogRecordCodec.Write(record, 0, size + 1, new byte[size + 1]));
    }
}
