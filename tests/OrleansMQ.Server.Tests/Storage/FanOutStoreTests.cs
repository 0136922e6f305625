using OrleansMQ.Grains;
using OrleansMQ.Server.Storage;
using static OrleansMQ.Tests.Storage.FileLogTestFiles;

namespace OrleansMQ.Tests.Storage;

/// <summary>
/// The file log's fan-out store: a message routed unchanged to several logs is stored once and each log holds a
/// reference record that reads resolve; the store keeps what any log (open or not) may still reference.
/// </summary>
public sealed class FanOutStoreTests : IDisposable
{
    private const int Body = 200;

    // The smallest segment: 20 reference records, 3 store records.
    private const long SegmentBytes = 1024;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // One fan-out batch: each message's tail encoded once, as the router does (no producer id).
    private static (LogRecord[] Originals, SharedTail[] Shared) FanOut(int first, int count)
    {
        var originals = Enumerable.Range(first, count).Select(i =>
        {
            var r = TestRecords.Create(i, Body);
            return new LogRecord { Timestamp = r.Timestamp, Key = r.Key, MessageId = r.MessageId, ContentType = r.ContentType, Headers = r.Headers, Body = r.Body };
        }).ToArray();
        var shared = originals.Select(r =>
        {
            var size = (int)LogRecordCodec.GetTailSize(r.Key, r.MessageId, r.ContentType, null, r.Headers, r.Body.Length);
            var bytes = new byte[size];
            LogRecordCodec.EncodeTail(r.Key, r.MessageId, r.ContentType, null, r.Headers, r.Body.Span, size, bytes);
            return new SharedTail(bytes);
        }).ToArray();
        return (originals, shared);
    }

    // A copy of the batch for one log: its own record objects, the shared tails.
    private static LogRecord[] Copy(LogRecord[] originals, SharedTail[] shared) =>
        originals.Select((r, i) => new LogRecord
        {
            Timestamp = r.Timestamp, Key = r.Key, MessageId = r.MessageId, ContentType = r.ContentType, Headers = r.Headers, Body = r.Body, Shared = shared[i],
        }).ToArray();

    private static async Task AssertHoldsAsync(IMessageLog log, LogRecord[] originals, long firstOffset = 0)
    {
        var read = await TestRecords.ReadAllAsync(log, firstOffset);
        Assert.Equal(originals.Length, read.Count);
        for (var i = 0; i < originals.Length; i++)
        {
            var expected = originals[i];
            var actual = read[i];
            Assert.Equal(firstOffset + i, actual.Offset);
            Assert.Equal(expected.Key, actual.Key);
            Assert.Equal(expected.MessageId, actual.MessageId);
            Assert.Equal(expected.ContentType, actual.ContentType);
            Assert.Null(actual.ProducerId);
            Assert.Equal(expected.Timestamp, actual.Timestamp);
            Assert.Equal(expected.Body.ToArray(), actual.Body.ToArray());
            Assert.Equal(expected.Headers!.OrderBy(h => h.Key), actual.Headers!.OrderBy(h => h.Key));
        }
    }

    private string StoreDirectory => Path.Combine(_directory.Path, FanOutStore.DirectoryName, "0");

    private long StoreBytes() => Directory.GetFiles(StoreDirectory, "*.log").Sum(f => new FileInfo(f).Length);

    [Fact]
    public async Task Copies_are_stored_once_as_reference_records_and_read_back_whole_also_after_a_restart()
    {
        var (originals, shared) = FanOut(0, 50);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            var logs = new List<IMessageLog>();
            for (var p = 0; p < 3; p++)
            {
                logs.Add(await factory.OpenAsync(Topic, p));
            }

            await Task.WhenAll(logs.Select(l => l.AppendAsync(Copy(originals, shared)).AsTask()));

            foreach (var log in logs)
            {
                Assert.Equal(50L * LogRecordCodec.ReferenceFrameSize, log.SizeBytes);
                await AssertHoldsAsync(log, originals);
                await log.DisposeAsync();
            }

            // Each message once in the store.
            var full = originals.Sum(r => (long)LogRecordCodec.GetFrameSize(r));
            Assert.Equal(full, StoreBytes());
        }

        await using var reopened = Factory(_directory.Path, journal: true);
        for (var p = 0; p < 3; p++)
        {
            await using var log = await reopened.OpenAsync(Topic, p);
            await AssertHoldsAsync(log, originals);
        }
    }

    [Fact]
    public async Task With_the_option_off_every_copy_is_written_in_full()
    {
        var (originals, shared) = FanOut(0, 10);
        await using var factory = Factory(_directory.Path, journal: true, storeFanOutOnce: false);
        await using var a = await factory.OpenAsync(Topic, 0);
        await using var b = await factory.OpenAsync(Topic, 1);

        await a.AppendAsync(Copy(originals, shared));
        await b.AppendAsync(Copy(originals, shared));

        var full = originals.Sum(r => (long)LogRecordCodec.GetFrameSize(r));
        Assert.Equal(full, a.SizeBytes);
        Assert.Equal(full, b.SizeBytes);
        Assert.Equal(0, StoreBytes());
        await AssertHoldsAsync(b, originals);
    }

    [Fact]
    public async Task Without_a_journal_copies_are_written_in_full_and_references_written_before_still_read()
    {
        var (originals, shared) = FanOut(0, 10);
        await using (var owner = Factory(_directory.Path, journal: true))
        {
            await using var a = await owner.OpenAsync(Topic, 0);
            await a.AppendAsync(Copy(originals, shared));
        }

        // Silos sharing a data directory run without the journal: they must not write a store another one may write.
        await using var sharing = Factory(_directory.Path, journal: false);
        Assert.False(sharing.Store!.Enabled);
        await using var log = await sharing.OpenAsync(Topic, 0);
        await AssertHoldsAsync(log, originals);
        var (more, moreShared) = FanOut(10, 5);
        await using var b = await sharing.OpenAsync(Topic, 1);
        await b.AppendAsync(Copy(more, moreShared));
        Assert.Equal(more.Sum(r => (long)LogRecordCodec.GetFrameSize(r)), b.SizeBytes);

        // And with no store left there, none is created.
        await using var fresh = Factory(Path.Combine(_directory.Path, "other"), journal: false);
        Assert.Null(fresh.Store);
    }

    [Fact]
    public async Task Once_everything_is_released_the_active_segment_is_sealed_and_deleted_so_it_pins_nothing()
    {
        var (originals, shared) = FanOut(0, 6);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            await using var a = await factory.OpenAsync(Topic, 0);
            await a.AppendAsync(Copy(originals, shared));
            Assert.Single(factory.Store!.Floors);
            Assert.Equal(6L * LogRecordCodec.ReferenceFrameSize + shared.Sum(t => (long)t.Bytes.Length), a.EstimateBytesFrom(0));

            Assert.Equal(6, await a.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 6 }));
            Assert.Empty(factory.Store.Floors);
            Assert.Equal(["00000000000000000006.log"], SegmentFiles(_directory.Path));
            Assert.False(File.Exists(Path.Combine(PartitionDirectory(_directory.Path), FanOutStore.FloorFileName)));

            var (more, moreShared) = FanOut(6, 2);
            await a.AppendAsync(Copy(more, moreShared));
            await AssertHoldsAsync(a, more, 6);
        }

        await using var reopened = Factory(_directory.Path, journal: true);
        await using var log = await reopened.OpenAsync(Topic, 0);
        Assert.Equal(6, log.LowWatermark);
        Assert.Equal(8, log.HighWatermark);
    }

    [Fact]
    public async Task The_store_keeps_a_message_until_every_log_referencing_it_deleted_its_copy()
    {
        // Small segments: the store rolls every 3 messages, the logs every 20 references.
        await using var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true);
        await using var a = await factory.OpenAsync(Topic, 0);
        await using var b = await factory.OpenAsync(Topic, 1);
        var (originals, shared) = FanOut(0, 40);
        for (var i = 0; i < 40; i += 4)
        {
            await a.AppendAsync(Copy(originals[i..(i + 4)], shared[i..(i + 4)]));
            await b.AppendAsync(Copy(originals[i..(i + 4)], shared[i..(i + 4)]));
        }

        var store = ((FileMessageLogFactory)factory).Store!;
        Assert.True(Directory.GetFiles(StoreDirectory, "*.log").Length > 5);

        // a deletes what it can below 30 (its first segment); b still references every message, where a stored it
        // (b's floor went down to a's copies of its first batch, though the store had rolled past them).
        await a.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 30 });
        await store.CollectNowAsync();
        var afterA = store.Log.LowWatermark;
        Assert.Equal(0, afterA);
        Assert.Equal(40, store.Log.HighWatermark); // each message stored once
        await AssertHoldsAsync(b, originals);
        await AssertHoldsAsync(a, originals[20..], 20);

        // b deletes up to 20: the store drops what neither references any more.
        await b.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 20 });
        await store.CollectNowAsync();
        Assert.True(store.Log.LowWatermark > afterA + 10, $"store low watermark {store.Log.LowWatermark}");
        await AssertHoldsAsync(b, originals[20..], 20);
        await AssertHoldsAsync(a, originals[20..], 20);
    }

    [Fact]
    public async Task A_read_overtaken_by_retention_that_dropped_the_stored_messages_too_goes_on_at_the_new_low_watermark()
    {
        // Segments of 20 references; the store rolls every 3 messages.
        await using var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true);
        var log = (FileMessageLog)await factory.OpenAsync(Topic, 0);
        await using var _ = log;
        var (originals, shared) = FanOut(0, 40);
        for (var i = 0; i < 40; i += 4)
        {
            await log.AppendAsync(Copy(originals[i..(i + 4)], shared[i..(i + 4)]));
        }

        // A consumer has read 0-5. As its next read resolves offset 6 (in a store segment the read has not opened yet),
        // retention deletes the log's first segment (0-19) and the store drops the messages nothing references any more.
        var first = await log.ReadAsync(0, 6, 1 << 20);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), first.Select(r => r.Offset));
        var store = factory.Store!;
        var overtaken = false;
        log.BeforeReferenceRead = offset =>
        {
            if (offset == 6 && !overtaken)
            {
                overtaken = true;
                log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 20 }).AsTask().GetAwaiter().GetResult();
                store.CollectNowAsync().GetAwaiter().GetResult();
            }
        };

        var next = await log.ReadAsync(6, 100, 1 << 20).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        // Not corruption: the read goes on at the new low watermark, as any read below it does.
        Assert.True(overtaken);
        Assert.True(store.Log.LowWatermark > 6, $"store low watermark {store.Log.LowWatermark}");
        Assert.Equal(Enumerable.Range(20, 20).Select(i => (long)i), next.Select(r => r.Offset));
        await AssertHoldsAsync(log, originals[20..], 20);
    }

    [Fact]
    public async Task A_message_stored_below_a_logs_floor_is_stored_again_for_it()
    {
        await using var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true);
        await using var a = await factory.OpenAsync(Topic, 0);
        await using var b = await factory.OpenAsync(Topic, 1);
        var (first, firstShared) = FanOut(0, 3);
        var (second, secondShared) = FanOut(3, 3);
        await a.AppendAsync(Copy(first, firstShared));   // store 0-2
        await a.AppendAsync(Copy(second, secondShared)); // store 3-5
        await b.AppendAsync(Copy(second, secondShared)); // b's floor: 3

        await b.AppendAsync(Copy(first, firstShared));   // below b's floor: stored again, 6-8

        Assert.Equal(3, factory.Store!.Floors[PartitionDirectory(_directory.Path, 1)]);
        Assert.Equal(9, factory.Store.Log.HighWatermark);
        await AssertHoldsAsync(b, [.. second, .. first]);
        await AssertHoldsAsync(a, [.. first, .. second]);
    }

    [Fact]
    public async Task A_closed_log_keeps_its_messages_in_the_store_across_a_restart()
    {
        var (originals, shared) = FanOut(0, 30);
        await using (var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true))
        {
            await using var a = await factory.OpenAsync(Topic, 0);
            await using var b = await factory.OpenAsync(Topic, 1);
            for (var i = 0; i < 30; i += 3)
            {
                await a.AppendAsync(Copy(originals[i..(i + 3)], shared[i..(i + 3)]));
                await b.AppendAsync(Copy(originals[i..(i + 3)], shared[i..(i + 3)]));
            }
        }

        await using (var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true))
        {
            // b is never opened in this run; a drops all it can.
            await using var a = await factory.OpenAsync(Topic, 0);
            await a.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 30 });
            await factory.Store!.CollectNowAsync();
            Assert.Equal(0, factory.Store.Log.LowWatermark);
        }

        await using var again = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true);
        await using var reopened = await again.OpenAsync(Topic, 1);
        await AssertHoldsAsync(reopened, originals);
    }

    [Fact]
    public async Task Deleting_the_last_referencing_log_lets_the_store_drop_its_messages()
    {
        await using var factory = Factory(_directory.Path, segmentBytes: SegmentBytes, journal: true);
        var (originals, shared) = FanOut(0, 20);
        var a = await factory.OpenAsync(Topic, 0);
        var b = await factory.OpenAsync(Topic, 1);
        for (var i = 0; i < 20; i += 2)
        {
            await a.AppendAsync(Copy(originals[i..(i + 2)], shared[i..(i + 2)]));
            await b.AppendAsync(Copy(originals[i..(i + 2)], shared[i..(i + 2)]));
        }

        await a.DeleteAsync();
        await factory.Store!.CollectNowAsync();
        Assert.Equal(0, factory.Store.Log.LowWatermark);

        await b.DeleteAsync();
        await factory.Store.CollectNowAsync();
        Assert.True(factory.Store.Log.LowWatermark >= 15, $"store low watermark {factory.Store.Log.LowWatermark}");
        Assert.Empty(factory.Store.Floors);
    }

    [Fact]
    public async Task When_the_store_fails_its_references_fail_and_later_copies_are_written_in_full()
    {
        var (first, firstShared) = FanOut(0, 5);
        var (second, secondShared) = FanOut(5, 5);
        var (third, thirdShared) = FanOut(10, 5);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            var a = await factory.OpenAsync(Topic, 0);
            var b = await factory.OpenAsync(Topic, 1);
            await a.AppendAsync(Copy(first, firstShared));
            await b.AppendAsync(Copy(first, firstShared));

            // The store's next write fails (its file handle is gone).
            factory.Store!.Log.ActiveSegment.Handle.Dispose();
            await Assert.ThrowsAsync<IOException>(async () => await a.AppendAsync(Copy(second, secondShared)));
            await Assert.ThrowsAsync<IOException>(async () => await b.AppendAsync(Copy(second, secondShared)));
            Assert.True(factory.Store.Failed);

            // Reopened, the logs write full copies from then on.
            await a.DisposeAsync();
            await b.DisposeAsync();
            a = await factory.OpenAsync(Topic, 0);
            b = await factory.OpenAsync(Topic, 1);
            var sizeBefore = b.SizeBytes;
            await a.AppendAsync(Copy(third, thirdShared));
            await b.AppendAsync(Copy(third, thirdShared));
            Assert.Equal(third.Sum(r => (long)LogRecordCodec.GetFrameSize(r)), b.SizeBytes - sizeBefore);
            await a.DisposeAsync();
            await b.DisposeAsync();
        }

        // What was acknowledged reads back after a restart: the first batch through the store, the third in full.
        await using var reopened = Factory(_directory.Path, journal: true);
        for (var p = 0; p < 2; p++)
        {
            await using var log = await reopened.OpenAsync(Topic, p);
            await AssertHoldsAsync(log, [.. first, .. third]);
        }
    }

    [Fact]
    public async Task Recovery_cuts_references_to_messages_the_store_never_got()
    {
        var (originals, shared) = FanOut(0, 10);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            await using var a = await factory.OpenAsync(Topic, 0);
            await a.AppendAsync(Copy(originals, shared));
        }

        // A crash image in which the store lost its last 4 records (written but not yet durable).
        var storeSegment = Directory.GetFiles(StoreDirectory, "*.log").Single();
        var kept = originals[..6].Sum(r => (long)LogRecordCodec.GetFrameSize(r));
        Truncate(storeSegment, kept);

        await using var reopened = Factory(_directory.Path, journal: true);
        await using var log = await reopened.OpenAsync(Topic, 0);
        Assert.Equal(6, log.HighWatermark);
        await AssertHoldsAsync(log, originals[..6]);
    }

    [Fact]
    public async Task A_reference_whose_store_record_changed_fails_the_read_as_corruption()
    {
        var (originals, shared) = FanOut(0, 5);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            await using var a = await factory.OpenAsync(Topic, 0);
            await a.AppendAsync(Copy(originals, shared));
        }

        // Replace the store with one holding other messages at the same offsets.
        Directory.Delete(StoreDirectory, recursive: true);
        await using (var factory = Factory(_directory.Path, journal: true))
        {
            await using var other = await factory.OpenAsync("other", 0);
            var (others, otherShared) = FanOut(100, 5);
            await other.AppendAsync(Copy(others, otherShared));
        }

        await using var reopened = Factory(_directory.Path, journal: true);
        await using var log = await reopened.OpenAsync(Topic, 0);
        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await log.ReadAsync(0, 10, 1 << 20));
        Assert.Contains("fan-out store", error.Message);
    }
}
