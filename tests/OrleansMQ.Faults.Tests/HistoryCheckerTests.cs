using OrleansMQ.Faults.Checking;
using OrleansMQ.Faults.History;

namespace OrleansMQ.Faults.Tests;

/// <summary>The checker on handcrafted histories: each anomaly it exists to find is found, and a clean history passes.</summary>
public sealed class HistoryCheckerTests
{
    private const string Topic = "t";

    [Fact]
    public void Clean_history_with_redeliveries_and_unknown_outcomes_passes()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0), Ok("p", 1, "k0", 0, 1), Unknown("p", 2, "k0"), Unknown("p", 3, "k0") };
        var deliveries = new List<DeliveryRecord>
        {
            Delivered("ex", "p", 0, "k0", 0, 0),
            Delivered("ex", "p", 1, "k0", 0, 1),
            Delivered("ex", "p", 1, "k0", 0, 1, deliveryCount: 2), // redelivery of the same offset: allowed
            Delivered("ex", "p", 2, "k0", 0, 2),                   // unknown outcome, written after all: allowed
        };

        var report = HistoryChecker.Check(publishes, deliveries);

        Assert.True(report.Passed, report.Describe());
        Assert.Equal((4, 2, 2, 1, 1), (report.Published, report.Acknowledged, report.Unknown, report.UnknownDelivered, report.Redeliveries));
    }

    [Fact]
    public void Acknowledged_message_missing_from_a_subscription_is_lost()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0), Ok("p", 1, "k1", 1, 0) };
        var deliveries = new List<DeliveryRecord> { Delivered("ex", "p", 0, "k0", 0, 0), Delivered("ks", "p", 0, "k0", 0, 0), Delivered("ks", "p", 1, "k1", 1, 0) };

        var report = HistoryChecker.Check(publishes, deliveries);

        Assert.False(report.Passed);
        var lost = Assert.Single(report.Lost);
        Assert.Equal(("ex", "p", 1L), (lost.Subscription, lost.Producer, lost.Seq));
    }

    [Fact]
    public void Named_subscription_that_delivered_nothing_loses_everything()
    {
        var report = HistoryChecker.Check([Ok("p", 0, "k0", 0, 0)], [Delivered("ex", "p", 0, "k0", 0, 0)], subscriptions: ["ex", "silent"]);

        Assert.Equal("silent", Assert.Single(report.Lost).Subscription);
    }

    [Fact]
    public void Delivery_of_a_message_never_published_or_whose_publish_failed_is_unexpected()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0), new("p", 1, Topic, "k0", PublishOutcome.Failed, Error: "OrleansMQException(MessageTooLarge)") };
        var deliveries = new List<DeliveryRecord> { Delivered("ex", "p", 0, "k0", 0, 0), Delivered("ex", "p", 1, "k0", 0, 1), Delivered("ex", "ghost", 7, "k0", 0, 2) };

        var report = HistoryChecker.Check(publishes, deliveries);

        Assert.False(report.Passed);
        Assert.Equal([("p", 1L), ("ghost", 7L)], report.Unexpected.Select(a => (a.Producer, a.Seq)));
    }

    [Fact]
    public void Message_stored_at_two_offsets_is_a_log_duplicate_and_fails_only_when_duplicates_are_forbidden()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0) };
        var deliveries = new List<DeliveryRecord> { Delivered("ex", "p", 0, "k0", 0, 0), Delivered("ex", "p", 0, "k0", 0, 5) };

        var strict = HistoryChecker.Check(publishes, deliveries);
        var lenient = HistoryChecker.Check(publishes, deliveries, duplicatesForbidden: false);

        Assert.Contains("t/0@0, t/0@5", Assert.Single(strict.LogDuplicates).Detail, StringComparison.Ordinal);
        Assert.False(strict.Passed);
        Assert.True(lenient.Passed, lenient.Describe());
        Assert.Single(lenient.LogDuplicates);
        Assert.Equal(0, strict.Redeliveries);
    }

    [Fact]
    public void Later_message_of_a_key_first_delivered_before_an_earlier_one_is_an_order_violation_on_exclusive_and_key_shared_only()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 1), Ok("p", 1, "k0", 0, 0), Ok("p", 2, "k1", 1, 0) };
        List<DeliveryRecord> Out(string subscription, string type) =>
        [
            Delivered(subscription, "p", 1, "k0", 0, 0, type: type),
            Delivered(subscription, "p", 2, "k1", 1, 0, type: type),
            Delivered(subscription, "p", 0, "k0", 0, 1, type: type),
        ];

        var exclusive = HistoryChecker.Check(publishes, Out("ex", "Exclusive"));
        var keyShared = HistoryChecker.Check(publishes, Out("ks", "KeyShared"));
        var shared = HistoryChecker.Check(publishes, Out("sh", "Shared"));

        Assert.Equal(("p", 0L), (Assert.Single(exclusive.OrderViolations).Producer, exclusive.OrderViolations[0].Seq));
        Assert.Single(keyShared.OrderViolations);
        Assert.False(exclusive.Passed);
        Assert.Empty(shared.OrderViolations);
        Assert.True(shared.Passed, shared.Describe());
    }

    [Fact]
    public void Redelivery_of_an_earlier_message_is_not_an_order_violation()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0), Ok("p", 1, "k0", 0, 1) };
        var deliveries = new List<DeliveryRecord>
        {
            Delivered("ex", "p", 0, "k0", 0, 0),
            Delivered("ex", "p", 1, "k0", 0, 1),
            Delivered("ex", "p", 0, "k0", 0, 0, deliveryCount: 2), // the cursor went back after a crash
            Delivered("ex", "p", 1, "k0", 0, 1, deliveryCount: 2),
        };

        var report = HistoryChecker.Check(publishes, deliveries);

        Assert.True(report.Passed, report.Describe());
        Assert.Equal(2, report.Redeliveries);
    }

    [Fact]
    public void Changed_body_or_key_is_corrupt()
    {
        var publishes = new List<PublishRecord> { Ok("p", 0, "k0", 0, 0), Ok("p", 1, "k1", 0, 1) };
        var deliveries = new List<DeliveryRecord>
        {
            Delivered("ex", "p", 0, "k0", 0, 0) with { BodyIntact = false },
            Delivered("ex", "p", 1, "k9", 0, 1),
            Delivered("ex", "p", 2, "k0", 0, 2) with { Producer = null, Seq = -1 },
        };

        var report = HistoryChecker.Check(publishes, deliveries);

        Assert.Equal(3, report.Corrupt.Count);
        Assert.False(report.Passed);
    }

    [Fact]
    public void Loss_at_offsets_an_injected_disk_fault_destroyed_is_reported_apart_but_later_publishes_there_must_survive()
    {
        // run1's p0..p2 at offsets 0..2 of partition 0; the fault destroyed offsets from 1. run2 then reused offsets 1, 2.
        var publishes = new List<PublishRecord>
        {
            Ok("run1-p1", 0, "k0", 0, 0), Ok("run1-p1", 1, "k0", 0, 1), Ok("run1-p1", 2, "k0", 0, 2), Ok("run1-p1", 3, "k1", 1, 0),
            Ok("run2-p1", 0, "k0", 0, 1), Ok("run2-p1", 1, "k0", 0, 2),
        };
        var fault = new DiskFaultRecord(Topic, 0, 1, "bit-flip", "/data/00000000000000000000.log", 123, ["run1-p1"]);
        var deliveries = new List<DeliveryRecord>
        {
            Delivered("after", "run1-p1", 0, "k0", 0, 0),
            Delivered("after", "run1-p1", 3, "k1", 1, 0),
            Delivered("after", "run2-p1", 0, "k0", 0, 1),
        };

        var report = HistoryChecker.Check(publishes, deliveries, [fault]);

        Assert.Equal([1L, 2L], report.LostToInjectedDiskFaults.Select(a => a.Seq));
        // run2-p1:1 was acknowledged AFTER the fault at offset 2: the fault does not excuse it.
        var lost = Assert.Single(report.Lost);
        Assert.Equal(("run2-p1", 1L), (lost.Producer, lost.Seq));
        Assert.False(report.Passed);
    }

    [Fact]
    public void Histories_round_trip_through_jsonl_files_and_a_torn_last_line_is_skipped()
    {
        var path = Path.Combine(Path.GetTempPath(), $"omq-history-{Guid.NewGuid():N}.jsonl");
        try
        {
            using (var file = new HistoryFile<PublishRecord>(path))
            {
                file.Append(Ok("p", 0, "k0", 2, 7));
                file.Append(Unknown("p", 1, "k1"));
            }

            File.AppendAllText(path, "{\"producer\":\"p\",\"se");
            var read = HistoryJson.Read<PublishRecord>([path]);

            Assert.Equal([Ok("p", 0, "k0", 2, 7), Unknown("p", 1, "k1")], read);
            Assert.Contains("\"outcome\":\"Ok\"", File.ReadAllLines(path)[0], StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Message_bodies_identify_their_message_and_detect_a_changed_byte()
    {
        var body = MessageBody.Create("run1-p2", 42, 100);

        Assert.True(MessageBody.TryParse(body, out var producer, out var seq, out var intact));
        Assert.Equal(("run1-p2", 42L, true, 100), (producer, seq, intact, body.Length));
        var changed = body[..60] + (body[60] == 'a' ? 'b' : 'a') + body[61..];
        Assert.True(MessageBody.TryParse(changed, out _, out _, out var changedIntact));
        Assert.False(changedIntact);
        Assert.False(MessageBody.TryParse("hello", out _, out _, out _));
    }

    private static PublishRecord Ok(string producer, long seq, string key, int partition, long offset) =>
        new(producer, seq, Topic, key, PublishOutcome.Ok, partition, offset);

    private static PublishRecord Unknown(string producer, long seq, string key) =>
        new(producer, seq, Topic, key, PublishOutcome.Unknown, Error: "TimeoutException: timed out");

    private static DeliveryRecord Delivered(string subscription, string producer, long seq, string key, int partition, long offset, int deliveryCount = 1, string type = "Exclusive") =>
        new(subscription, type, $"{subscription}-c1", Topic, partition, offset, key, producer, seq, BodyIntact: true, deliveryCount);
}
