using OrleansMQ.Server.Routing;

namespace OrleansMQ.Tests.Unit;

public sealed class RouteOutcomeTests
{
    private static readonly Message M = Message.FromText("m");

    [Fact]
    public void Packed_and_object_receipts_name_each_copys_topic_partition_and_offset_in_message_order()
    {
        // Six messages: 0-2 fanned out to "a" (two partition batches, answered out of order, one by its first offset only)
        // and "b"; 3 went to the alternate exchange; 4 was refused; 5 was routed nowhere but to "b" as a duplicate.
        var appended = new List<(string Topic, List<(int Index, Message Message)> Items, BatchReceipts Receipts)>
        {
            ("b", [(0, M), (1, M), (2, M), (5, M)], new BatchReceipts(0, -1, [new(0, 10, false), new(0, 11, false), new(0, 12, false), new(0, 7, true)])),
            ("a", [(1, M)], new BatchReceipts(1, -1, [new(1, 500, false)])),
            ("a", [(0, M), (2, M)], new BatchReceipts(0, FirstOffset: 100, Receipts: null)), // appended whole: offsets from 100
        };
        RoutedReceipt[] forwarded = [new() { Deliveries = [new TopicReceipt("spare", new PublishReceipt(2, 3, false))] }];
        var errors = new OrleansMQException?[6];
        errors[4] = new OrleansMQException(ErrorCode.MessageTooLarge, "too large");
        var outcome = new RouteOutcome(6, appended, unroutable: [3], forwarded, errors);

        TopicReceipt D(string topic, int partition, long offset, bool duplicate = false) => new(topic, new PublishReceipt(partition, offset, duplicate));
        TopicReceipt[][] expected =
        [
            [D("b", 0, 10), D("a", 0, 100)],
            [D("b", 0, 11), D("a", 1, 500)],
            [D("b", 0, 12), D("a", 0, 101)],
            [D("spare", 2, 3)],
            [],
            [D("b", 0, 7, duplicate: true)],
        ];

        var objects = outcome.Receipts();
        var packed = outcome.Pack();
        Assert.Equal(["b", "a", "spare"], packed.Topics); // each name once
        var unpacked = packed.Unpack();
        foreach (var receipts in new[] { objects, unpacked })
        {
            Assert.Equal(6, receipts.Length);
            for (var i = 0; i < 6; i++)
            {
                Assert.Equal(expected[i], receipts[i].Deliveries);
                Assert.Equal(i == 3, receipts[i].Alternate);
                Assert.Equal(i == 4 ? ErrorCode.MessageTooLarge : null, receipts[i].Error);
            }

            Assert.Equal("too large", receipts[4].ErrorMessage);
        }
    }

    [Fact]
    public void A_writer_given_too_few_deliveries_up_front_still_packs_them_all()
    {
        var writer = new RoutedBatchReceiptWriter(messages: 1, deliveries: 0);
        writer.Routed(100, alternate: false);
        for (var i = 0; i < 100; i++)
        {
            writer.Delivery(writer.Topic($"q{i % 7}"), new PublishReceipt(i, long.MaxValue - i, i % 2 == 0));
        }

        var deliveries = writer.Complete().Unpack()[0].Deliveries;

        Assert.Equal(100, deliveries.Count);
        Assert.Equal(new TopicReceipt("q1", new PublishReceipt(99, long.MaxValue - 99, false)), deliveries[99]);
        Assert.Throws<InvalidOperationException>(() => new RoutedBatchReceiptWriter(2, 0).Complete());
    }
}
