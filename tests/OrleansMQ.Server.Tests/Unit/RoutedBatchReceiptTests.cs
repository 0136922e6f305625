using Orleans.Serialization;
using OrleansMQ.Tests.Storage;

namespace OrleansMQ.Tests.Unit;

public sealed class RoutedBatchReceiptTests
{
    [Fact]
    public void Packed_receipts_unpack_to_the_same_deliveries_errors_and_flags_in_order()
    {
        RoutedReceipt[] receipts =
        [
            new() { Deliveries = [.. Enumerable.Range(0, 10).Select(q => new TopicReceipt($"q{q}", new PublishReceipt(0, 1_000_000_000_000L + q, Duplicate: false)))] },
            new() { Deliveries = [], Error = ErrorCode.Unroutable, ErrorMessage = "no binding for 'asia'" },
            new() { Deliveries = [new TopicReceipt("alt", new PublishReceipt(7, 0, Duplicate: true))], Alternate = true },
            new() { Deliveries = [] },
            new() { Deliveries = [new TopicReceipt("q3", new PublishReceipt(int.MaxValue, long.MaxValue, Duplicate: false))] },
            new() { Deliveries = [], Error = ErrorCode.MessageTooLarge, ErrorMessage = "too large" },
        ];

        var packed = RoutedBatchReceipt.Pack(receipts);
        var unpacked = packed.Unpack();

        Assert.Equal(11, packed.Topics.Count); // q0..q9 and alt: each name once
        Assert.Equal(receipts.Length, unpacked.Length);
        for (var i = 0; i < receipts.Length; i++)
        {
            Assert.Equal(receipts[i].Deliveries, unpacked[i].Deliveries);
            Assert.Equal(receipts[i].Alternate, unpacked[i].Alternate);
            Assert.Equal(receipts[i].Error, unpacked[i].Error);
            Assert.Equal(receipts[i].ErrorMessage, unpacked[i].ErrorMessage);
        }
    }

    [Fact]
    public void Truncated_packed_receipts_are_a_typed_error_not_garbage()
    {
        var packed = RoutedBatchReceipt.Pack([new RoutedReceipt { Deliveries = [new TopicReceipt("q", new PublishReceipt(1, 300, false))] }]);
        var truncated = packed with { Packed = packed.Packed[..^1] };
        Assert.Equal(ErrorCode.Internal, Assert.Throws<OrleansMQException>(() => truncated.Unpack()).Code);
        var extra = packed with { Packed = [.. packed.Packed, 0] };
        Assert.Equal(ErrorCode.Internal, Assert.Throws<OrleansMQException>(() => extra.Unpack()).Code);
    }

    [Fact]
    public void A_bad_topic_index_is_caught_when_unpacking_not_when_the_deliveries_are_read()
    {
        // Deliveries are decoded lazily; the packed bytes are still checked as a whole up front.
        var packed = RoutedBatchReceipt.Pack([new RoutedReceipt { Deliveries = [new TopicReceipt("q", new PublishReceipt(1, 300, false))] }]);
        var badTopic = packed with { Topics = [] };

        Assert.Equal(ErrorCode.Internal, Assert.Throws<OrleansMQException>(() => badTopic.Unpack()).Code);
    }

    [Fact]
    public void Unpacked_receipts_serialize_and_copy_with_their_deliveries()
    {
        var deliveries = Enumerable.Range(0, 10).Select(q => new TopicReceipt($"q{q}", new PublishReceipt(q, 40 + q, Duplicate: q == 3))).ToArray();
        var unpacked = RoutedBatchReceipt.Pack([new RoutedReceipt { Deliveries = deliveries, Alternate = true }]).Unpack()[0];
        var serializer = GrainStates.Serializer;

        var copy = serializer.Deserialize<RoutedReceipt>(serializer.SerializeToArray(unpacked))!;

        Assert.Equal(deliveries, copy.Deliveries);
        Assert.True(copy.Alternate);
        Assert.Equal(deliveries, unpacked.Deliveries); // still readable after being serialized
        Assert.Equal(deliveries[7], unpacked.Deliveries[7]);
    }
}
