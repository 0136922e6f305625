using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>Our own checks of the Azure service limits (Azurite does not enforce them all). No emulator needed.</summary>
public sealed class AzureLogLimitsTests
{
    private const string ConnectionString = "UseDevelopmentStorage=true";

    [Fact]
    public void An_append_block_over_4_MiB_is_refused_before_it_is_sent()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            AzureBlobLimits.CheckAppend(AzureBlobLimits.MaxAppendBlockBytes + 1, 0, AzureBlobLimits.MaxAppendBlockBytes, AzureBlobLimits.MaxBlocksPerAppendBlob));
        Assert.Contains("4194304", ex.Message);

        Assert.Throws<InvalidOperationException>(() => AzureBlobLimits.CheckAppend(0, 0, 4096, 100));
        Assert.Throws<InvalidOperationException>(() => AzureBlobLimits.CheckAppend(4097, 0, 4096, 100)); // the configured limit
        AzureBlobLimits.CheckAppend(AzureBlobLimits.MaxAppendBlockBytes, 0, AzureBlobLimits.MaxAppendBlockBytes, AzureBlobLimits.MaxBlocksPerAppendBlob);
    }

    [Fact]
    public void An_append_to_a_blob_with_50000_blocks_is_refused_before_it_is_sent()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            AzureBlobLimits.CheckAppend(100, AzureBlobLimits.MaxBlocksPerAppendBlob, AzureBlobLimits.MaxAppendBlockBytes, AzureBlobLimits.MaxBlocksPerAppendBlob));
        Assert.Contains("50000", ex.Message);

        Assert.Throws<InvalidOperationException>(() => AzureBlobLimits.CheckAppend(100, 4, 4096, 4)); // the configured limit
        AzureBlobLimits.CheckAppend(100, AzureBlobLimits.MaxBlocksPerAppendBlob - 1, AzureBlobLimits.MaxAppendBlockBytes, AzureBlobLimits.MaxBlocksPerAppendBlob);
    }

    [Fact]
    public void Options_beyond_the_service_limits_are_refused()
    {
        var validator = new AzureLogOptionsValidator();

        Assert.True(validator.Validate(null, new AzureLogOptions { ConnectionString = ConnectionString }).Succeeded);
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, MaxAppendBytes = AzureBlobLimits.MaxAppendBlockBytes + 1 }, "MaxAppendBytes");
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, MaxBlocksPerSegment = AzureBlobLimits.MaxBlocksPerAppendBlob + 1 }, "MaxBlocksPerSegment");
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, MaxBlocksPerSegment = 3 }, "MaxBlocksPerSegment");
        // The seal frame carries the segment's index and must itself fit in one append.
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, SegmentBytes = 1L << 30, IndexIntervalBytes = 256 }, "seal block");
        AssertFails(new AzureLogOptions(), "ConnectionString");
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, OwnershipCheckInterval = TimeSpan.FromMilliseconds(-1) }, "OwnershipCheckInterval");
        AssertFails(new AzureLogOptions { ConnectionString = ConnectionString, OwnershipCheckInterval = TimeSpan.FromMinutes(6) }, "OwnershipCheckInterval");
        Assert.True(validator.Validate(null, new AzureLogOptions { ConnectionString = ConnectionString, OwnershipCheckInterval = TimeSpan.Zero }).Succeeded);

        static void AssertFails(AzureLogOptions options, string expected)
        {
            var result = new AzureLogOptionsValidator().Validate(null, options);
            Assert.True(result.Failed);
            Assert.Contains(expected, result.FailureMessage);
        }
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("a--b")]
    [InlineData("-ab")]
    [InlineData("ab-")]
    [InlineData("under_score")]
    public void Name_prefixes_that_would_make_an_invalid_container_name_are_refused(string prefix)
    {
        var ex = Assert.Throws<OptionsValidationException>(() =>
            new AzureMessageLogFactory(Options.Create(new AzureLogOptions { ConnectionString = ConnectionString, NamePrefix = prefix })));
        Assert.Contains("NamePrefix", ex.Message);
    }

    [Fact]
    public void The_largest_seal_frame_of_the_default_settings_fits_one_append()
    {
        var options = new AzureLogOptions();
        Assert.True(AzureSegmentFormat.MaxSealFrameSize(options.SegmentBytes, options.MaxAppendBytes, options.IndexIntervalBytes) <= options.MaxAppendBytes);
    }

    [Fact]
    public void Control_frames_and_record_frames_are_told_apart_and_checked()
    {
        var record = RecordFrame();
        var fence = new byte[AzureSegmentFormat.FenceFrameSize];
        AzureSegmentFormat.WriteFence(fence, Guid.NewGuid(), 42, DateTime.UtcNow.Ticks);
        var data = record.Concat(fence).ToArray();

        Assert.Equal(SegmentItem.Record, AzureSegmentFormat.Next(data, 0, out var length, out _));
        Assert.Equal(record.Length, length);
        Assert.Equal(SegmentItem.Fence, AzureSegmentFormat.Next(data, record.Length, out length, out _));
        Assert.Equal(fence.Length, length);
        Assert.Equal(SegmentItem.End, AzureSegmentFormat.Next(data, data.Length, out _, out _));
        Assert.Equal(SegmentItem.Incomplete, AzureSegmentFormat.Next(data.AsSpan(0, data.Length - 1), record.Length, out _, out _));

        data[^10] ^= 0x40; // inside the fence's payload
        Assert.Equal(SegmentItem.BadChecksum, AzureSegmentFormat.Next(data, record.Length, out _, out _));
    }

    private static byte[] RecordFrame()
    {
        var record = OrleansMQ.Tests.Storage.TestRecords.Create(1);
        var frame = new byte[LogRecordCodec.GetFrameSize(record)];
        LogRecordCodec.Write(record, 1, frame.Length, frame);
        return frame;
    }
}
