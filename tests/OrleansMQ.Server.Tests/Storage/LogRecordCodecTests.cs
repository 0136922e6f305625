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
}
