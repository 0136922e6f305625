using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using OrleansMQ.Server.Storage;
using OrleansMQ.Tests.Storage;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>Azure-specific behaviour of the log against a real Azurite: limits, fencing, rolling, recovery, group commit.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureMessageLogTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string _prefix = AzureTestLogs.NewPrefix();
    private readonly List<AzureMessageLogFactory> _factories = [];
    private int _topics;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
    }

    // A separate factory stands for a separate silo: it shares the storage, not the in-process instance registry.
    private AzureMessageLogFactory NewSilo(Action<AzureLogOptions>? configure = null)
    {
        var options = AzureTestLogs.Options(azurite, _prefix);
        configure?.Invoke(options);
        var factory = AzureTestLogs.Factory(options);
        _factories.Add(factory);
        return factory;
    }

    private string NewTopic() => $"topic-{Interlocked.Increment(ref _topics)}";

    private BlobContainerClient Container => AzureTestLogs.Container(azurite, _prefix);

    private async Task<List<BlobItem>> SegmentBlobsAsync(string topic, int partition = 0)
    {
        var blobs = new List<BlobItem>();
        await foreach (var blob in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{topic}/{partition}/" }))
        {
            blobs.Add(blob);
        }

        return blobs;
    }

    private static async Task<AzureMessageLog> OpenAsync(AzureMessageLogFactory factory, string topic, int partition = 0) =>
        (AzureMessageLog)await factory.OpenAsync(topic, partition);

    [Fact]
    public async Task A_newer_instance_fences_the_older_one_which_writes_nothing_more()
    {
        var topic = NewTopic();
        var older = await OpenAsync(NewSilo(), topic);
        Assert.Equal(0, await older.AppendAsync(TestRecords.Range(0, 3)));

        var newer = await OpenAsync(NewSilo(), topic);
        Assert.Equal(3, newer.HighWatermark);

        await Assert.ThrowsAsync<LogFencedException>(async () => await older.AppendAsync(TestRecords.Range(100, 2)));
        // Once fenced, always fenced: the next append fails without a request.
        var requests = older.AppendRequests;
        var again = await Assert.ThrowsAsync<LogFencedException>(async () => await older.AppendAsync(TestRecords.Range(102, 1)));
        Assert.IsAssignableFrom<IOException>(again);
        Assert.Equal(requests, older.AppendRequests);
        Assert.Equal(3, older.HighWatermark);

        Assert.Equal(3, await newer.AppendAsync(TestRecords.Range(3, 2)));
        var all = await TestRecords.ReadAllAsync(newer);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"msg-{i:D8}"), all.Select(r => r.MessageId));

        await using var third = await OpenAsync(NewSilo(), topic);
        Assert.Equal(5, third.HighWatermark);
        Assert.Equal(all.Select(r => r.MessageId), (await TestRecords.ReadAllAsync(third)).Select(r => r.MessageId));
    }

    [Fact]
    public async Task An_instance_is_fenced_even_when_the_newer_one_has_not_written_yet()
    {
        var topic = NewTopic();
        var first = await OpenAsync(NewSilo(), topic);
        var second = await OpenAsync(NewSilo(), topic);

        // The newest opener owns the partition from its open on, not from its first write.
        await Assert.ThrowsAsync<LogFencedException>(async () => await first.AppendAsync(TestRecords.Range(0, 1)));
        Assert.Equal(0, await second.AppendAsync(TestRecords.Range(0, 2)));

        Assert.Equal(2, second.HighWatermark);
        Assert.Equal(0, first.HighWatermark);
        Assert.Equal(2, (await TestRecords.ReadAllAsync(second)).Count);
    }

    [Fact]
    public async Task An_instance_that_only_reads_is_fenced_at_the_end_of_the_log_instead_of_serving_a_stale_end()
    {
        // A duplicate activation that producers no longer reach never writes, so only the read path can tell it that
        // another instance owns the partition; before this check it served its frozen end forever (docs/reliability.md, finding 6).
        var topic = NewTopic();
        var stale = await OpenAsync(NewSilo(EveryRead), topic);
        Assert.Equal(0, await stale.AppendAsync(TestRecords.Range(0, 3)));
        await stale.VerifyOwnershipAsync();
        Assert.Empty(await stale.ReadAsync(3, 10, 1 << 20)); // its own end, checked: nobody else wrote

        var owner = await OpenAsync(NewSilo(), topic);
        Assert.Equal(3, await owner.AppendAsync(TestRecords.Range(3, 2)));

        // Records below the end are immutable, so serving them stays safe...
        Assert.Equal(["msg-00000000", "msg-00000001"], (await stale.ReadAsync(0, 2, 1 << 20)).Select(r => r.MessageId));
        // ...but "nothing after offset 3" would be a lie: the read that reaches the end is refused.
        var fenced = await Assert.ThrowsAsync<LogFencedException>(async () => await stale.ReadAsync(3, 10, 1 << 20));
        Assert.Contains($"{topic}/0", fenced.Message);
        Assert.Contains("stale", fenced.Message);
        await Assert.ThrowsAsync<LogFencedException>(async () => await stale.ReadAsync(0, 100, 1 << 20));
        await Assert.ThrowsAsync<LogFencedException>(async () => await stale.VerifyOwnershipAsync());
        await Assert.ThrowsAsync<LogFencedException>(async () => await stale.AppendAsync(TestRecords.Range(100, 1)));

        await owner.VerifyOwnershipAsync();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"msg-{i:D8}"), (await TestRecords.ReadAllAsync(owner)).Select(r => r.MessageId));
    }

    [Fact]
    public async Task A_reader_is_fenced_by_a_newer_open_alone_and_by_the_log_being_deleted()
    {
        var topic = NewTopic();
        var stale = await OpenAsync(NewSilo(EveryRead), topic);
        Assert.Equal(0, await stale.AppendAsync(TestRecords.Range(0, 2)));
        await using (var opener = await OpenAsync(NewSilo(), topic))
        {
            // The opener's fence frame is a write of its own: no record needed.
            await Assert.ThrowsAsync<LogFencedException>(async () => await stale.ReadAsync(2, 10, 1 << 20));
        }

        var other = NewTopic();
        var orphan = await OpenAsync(NewSilo(EveryRead), other);
        Assert.Equal(0, await orphan.AppendAsync(TestRecords.Range(0, 1)));
        var deleter = await OpenAsync(NewSilo(), other);
        await deleter.DeleteAsync();
        await Assert.ThrowsAsync<LogFencedException>(async () => await orphan.VerifyOwnershipAsync());
    }

    [Fact]
    public async Task The_owner_is_never_fenced_by_its_own_checks_while_it_appends()
    {
        var topic = NewTopic();
        await using var owner = await OpenAsync(NewSilo(o => { o.OwnershipCheckInterval = TimeSpan.Zero; o.SegmentBytes = 40 * TestRecords.FrameSize(); }), topic);
        var appends = Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            await Task.Yield();
            await owner.AppendAsync(TestRecords.Range(i * 5, 5));
        }));

        // Checks race the appends (and the segment rolls they cause): each must see either this instance's own writes
        // in flight (no verdict) or the blob exactly as this instance left it.
        var checks = 0;
        while (!appends.IsCompleted)
        {
            await owner.VerifyOwnershipAsync();
            await owner.ReadAsync(owner.HighWatermark, 10, 1 << 20);
            checks++;
        }

        await appends;
        await owner.VerifyOwnershipAsync();
        Assert.True(checks > 0);
        Assert.True(owner.OwnershipChecks > 0, "no check reached the service");
        Assert.True(owner.Segments.Count > 1, "the appends should have rolled segments");
        Assert.Equal(300, (await TestRecords.ReadAllAsync(owner)).Count);
    }

    [Fact]
    public async Task Ownership_checks_are_sent_at_most_once_per_interval_and_appends_count_as_proof()
    {
        var topic = NewTopic();
        await using var slow = await OpenAsync(NewSilo(o => o.OwnershipCheckInterval = TimeSpan.FromMinutes(5)), topic);
        await slow.AppendAsync(TestRecords.Range(0, 2));
        for (var i = 0; i < 20; i++)
        {
            Assert.Empty(await slow.ReadAsync(2, 10, 1 << 20));
            await slow.VerifyOwnershipAsync();
        }

        Assert.Equal(0, slow.OwnershipChecks); // the open's conditional write, then the append, proved ownership

        await using var eager = await OpenAsync(NewSilo(EveryRead), NewTopic());
        await eager.AppendAsync(TestRecords.Range(0, 2));
        Assert.Single(await eager.ReadAsync(1, 10, 1 << 20));
        Assert.Equal(1, eager.OwnershipChecks);
        Assert.Single(await eager.ReadAsync(0, 1, 1 << 20)); // below the end: no check
        Assert.Equal(1, eager.OwnershipChecks);
        await eager.VerifyOwnershipAsync();
        Assert.Equal(2, eager.OwnershipChecks);
    }

    [Fact]
    public async Task Of_instances_opening_at_the_same_time_exactly_one_can_write()
    {
        var topic = NewTopic();
        await using var seeded = await OpenAsync(NewSilo(), topic);
        await seeded.AppendAsync(TestRecords.Range(0, 2));

        var opened = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => OpenAsync(NewSilo(), topic)));

        var outcomes = new List<bool>();
        for (var i = 0; i < opened.Length; i++)
        {
            try
            {
                Assert.Equal(2, await opened[i].AppendAsync(TestRecords.Range(2, 1)));
                outcomes.Add(true);
            }
            catch (LogFencedException)
            {
                outcomes.Add(false);
            }
        }

        Assert.Single(outcomes, true);
        var winner = opened[outcomes.IndexOf(true)];
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"msg-{i:D8}"), (await TestRecords.ReadAllAsync(winner)).Select(r => r.MessageId));
    }

    [Fact]
    public async Task A_takeover_during_concurrent_appends_keeps_a_dense_prefix_and_loses_nothing_acknowledged()
    {
        var topic = NewTopic();
        var older = await OpenAsync(NewSilo(), topic);
        await older.AppendAsync(TestRecords.Range(0, 1));

        var appends = new List<(Task<long> Task, int Id)>();
        for (var i = 1; i <= 60; i++)
        {
            appends.Add((older.AppendAsync(TestRecords.Range(i, 1)).AsTask(), i));
            if (i == 20)
            {
                await Task.Yield();
            }
        }

        var newer = await OpenAsync(NewSilo(), topic);
        await Task.WhenAll(appends.Select(a => a.Task.ContinueWith(_ => { }, TaskScheduler.Default)));

        var acknowledged = appends.Where(a => a.Task.IsCompletedSuccessfully).Select(a => a.Id).ToList();
        Assert.All(appends.Where(a => !a.Task.IsCompletedSuccessfully), a => Assert.IsType<LogFencedException>(a.Task.Exception!.InnerException));
        // Completion is in offset order, so the acknowledged appends are a prefix, and all of them are in the new owner's view.
        Assert.Equal(Enumerable.Range(1, acknowledged.Count), acknowledged);
        Assert.True(newer.HighWatermark >= 1 + acknowledged.Count);

        var next = newer.HighWatermark;
        Assert.Equal(next, await newer.AppendAsync(TestRecords.Range(1000, 1)));
        var all = await TestRecords.ReadAllAsync(newer);
        Assert.Equal(Enumerable.Range(0, (int)next + 1).Select(i => (long)i), all.Select(r => r.Offset));
        var ids = all.Select(r => r.MessageId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 1 + acknowledged.Count).Select(i => $"msg-{i:D8}"), ids.Take(1 + acknowledged.Count));
        Assert.Equal("msg-00001000", ids[^1]);
    }

    [Fact]
    public async Task A_stale_instance_cannot_roll_to_a_new_segment()
    {
        var topic = NewTopic();
        var frame = TestRecords.FrameSize();
        void SmallSegments(AzureLogOptions o) => o.SegmentBytes = 3 * frame;
        var older = await OpenAsync(NewSilo(SmallSegments), topic);
        await older.AppendAsync(TestRecords.Range(0, 3)); // fills segment 0

        var newer = await OpenAsync(NewSilo(SmallSegments), topic);
        var before = (await SegmentBlobsAsync(topic)).Select(b => b.Name).ToList();

        // The next record needs a new segment: sealing the old one is a conditional append, and it fails.
        await Assert.ThrowsAsync<LogFencedException>(async () => await older.AppendAsync(TestRecords.Range(3, 1)));
        Assert.Equal(before, (await SegmentBlobsAsync(topic)).Select(b => b.Name));

        Assert.Equal(3, await newer.AppendAsync(TestRecords.Range(3, 4)));
        Assert.Equal(7, (await TestRecords.ReadAllAsync(newer)).Count);
        Assert.Equal(3, (await SegmentBlobsAsync(topic)).Count); // [0-2] [3-5] [6]
    }

    [Fact]
    public async Task A_stale_instance_deletes_nothing_in_retention_and_the_owner_still_can()
    {
        var topic = NewTopic();
        var frame = TestRecords.FrameSize();
        void SmallSegments(AzureLogOptions o) => o.SegmentBytes = 3 * frame;
        var older = await OpenAsync(NewSilo(SmallSegments), topic);
        await older.AppendAsync(TestRecords.Range(0, 7)); // [0-2] [3-5] [6]: two sealed segments retention may delete
        Assert.Equal(3, (await SegmentBlobsAsync(topic)).Count);

        // The takeover only appends a fence frame to the active segment (no new segment blob).
        var newer = await OpenAsync(NewSilo(SmallSegments), topic);
        Assert.Equal(3, (await SegmentBlobsAsync(topic)).Count);

        var everything = new RetentionRequest { DeleteBelowOffset = 100 };
        await Assert.ThrowsAsync<LogFencedException>(async () => await older.ApplyRetentionAsync(everything));
        Assert.Equal(3, (await SegmentBlobsAsync(topic)).Count);
        Assert.Equal(0, older.LowWatermark); // its view is unchanged, and it stays fenced for appends too
        await Assert.ThrowsAsync<LogFencedException>(async () => await older.AppendAsync(TestRecords.Range(7, 1)));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"msg-{i:D8}"), (await TestRecords.ReadAllAsync(newer)).Select(r => r.MessageId));

        Assert.Equal(6, await newer.ApplyRetentionAsync(everything));
        Assert.Single(await SegmentBlobsAsync(topic));
    }

    [Fact]
    public async Task A_stale_instance_whose_successor_rolled_to_a_new_segment_deletes_nothing_in_retention()
    {
        var topic = NewTopic();
        var frame = TestRecords.FrameSize();
        void SmallSegments(AzureLogOptions o) => o.SegmentBytes = 3 * frame;
        var older = await OpenAsync(NewSilo(SmallSegments), topic);
        await older.AppendAsync(TestRecords.Range(0, 7));

        var newer = await OpenAsync(NewSilo(SmallSegments), topic);
        await newer.AppendAsync(TestRecords.Range(7, 5)); // rolls: the older instance's active segment is sealed by the newer one
        var blobs = (await SegmentBlobsAsync(topic)).Select(b => b.Name).ToList();

        await Assert.ThrowsAsync<LogFencedException>(async () => await older.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 3 }));
        Assert.Equal(blobs, (await SegmentBlobsAsync(topic)).Select(b => b.Name));
        Assert.Equal(12, (await TestRecords.ReadAllAsync(newer)).Count);
    }

    [Fact]
    public async Task Retention_by_the_owner_works_while_its_own_appends_are_in_flight()
    {
        var topic = NewTopic();
        var frame = TestRecords.FrameSize();
        var log = await OpenAsync(NewSilo(o => o.SegmentBytes = 3 * frame), topic);
        await log.AppendAsync(TestRecords.Range(0, 7));
        var inFlight = Enumerable.Range(0, 20).Select(i => log.AppendAsync(TestRecords.Range(7 + i, 1)).AsTask()).ToList();
        var low = await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 6 });
        await Task.WhenAll(inFlight);
        Assert.True(low >= 6, $"low watermark {low}");
        Assert.Equal(27, log.HighWatermark);
    }

    [Fact]
    public async Task Reads_near_the_tail_come_from_the_tail_cache_and_older_reads_from_the_blob()
    {
        var topic = NewTopic();
        // Each awaited append of 5 is one block; a 1-byte budget keeps just the newest block (offsets 35-39).
        var log = await OpenAsync(NewSilo(o => o.TailCacheBytes = 1), topic);
        for (var i = 0; i < 40; i += 5)
        {
            await log.AppendAsync(TestRecords.Range(i, 5));
        }

        var hits = log.TailCacheHits;
        var tail = await log.ReadAsync(35, 100, 1 << 20);
        Assert.Equal(hits + 1, log.TailCacheHits);
        Assert.Equal(Enumerable.Range(35, 5).Select(i => $"msg-{i:D8}"), tail.Select(r => r.MessageId));
        Assert.Equal(Enumerable.Range(35, 5).Select(i => (long)i), tail.Select(r => r.Offset));

        var limited = await log.ReadAsync(36, 3, 1 << 20);
        Assert.Equal([36L, 37L, 38L], limited.Select(r => r.Offset));

        hits = log.TailCacheHits;
        var old = await log.ReadAsync(0, 5, 1 << 20);
        Assert.Equal(hits, log.TailCacheHits); // evicted: read from the blob
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"msg-{i:D8}"), old.Select(r => r.MessageId));
        // A read that starts in the blob and runs into the cached tail is served by both, seamlessly.
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"msg-{i:D8}"), (await log.ReadAsync(0, 100, 1 << 20)).Select(r => r.MessageId));

        // A fresh instance (cache empty) reads the same bytes from the blob.
        await using var reopened = await OpenAsync(NewSilo(), topic);
        Assert.Equal(tail.Select(r => r.MessageId), (await reopened.ReadAsync(35, 100, 1 << 20)).Select(r => r.MessageId));
        Assert.Equal(0, reopened.TailCacheHits);
    }

    [Fact]
    public async Task Opening_again_in_the_same_silo_disposes_the_older_instance()
    {
        var factory = NewSilo();
        var topic = NewTopic();
        var first = await OpenAsync(factory, topic);
        var pending = first.AppendAsync(TestRecords.Range(0, 5));

        await using var second = await OpenAsync(factory, topic);

        Assert.Equal(0, await pending); // waited for, not fenced
        Assert.Equal(5, second.HighWatermark);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await first.AppendAsync(TestRecords.Range(5, 1)));
    }

    [Fact]
    public async Task Appends_larger_than_one_block_are_split_and_concurrent_appends_share_blocks()
    {
        var topic = NewTopic();
        var frame = TestRecords.FrameSize();
        await using var log = await OpenAsync(NewSilo(SmallBlocks), topic);
        var perBlock = 4096 / frame;

        // One append of 40 records (about 17 KiB) goes out in blocks of at most 4096 bytes.
        await log.AppendAsync(TestRecords.Range(0, 40));
        Assert.Equal((40 + perBlock - 1) / perBlock, log.AppendRequests);

        // 100 concurrent one-record appends: group commit packs the queued ones into full blocks.
        var before = log.AppendRequests;
        var appends = Enumerable.Range(40, 100).Select(i => log.AppendAsync(TestRecords.Range(i, 1)).AsTask()).ToArray();
        Assert.Equal(Enumerable.Range(40, 100).Select(i => (long)i), await Task.WhenAll(appends));
        Assert.InRange(log.AppendRequests - before, (100 + perBlock - 1) / perBlock, (100 / perBlock) + 3);

        var blob = (await SegmentBlobsAsync(topic)).Single();
        Assert.Equal(log.AppendRequests, (await Container.GetAppendBlobClient(blob.Name).GetPropertiesAsync()).Value.BlobCommittedBlockCount);
        Assert.Equal(140, (await TestRecords.ReadAllAsync(log)).Count);
    }

    [Fact]
    public async Task A_record_larger_than_one_append_block_is_refused_with_a_clear_error()
    {
        var topic = NewTopic();
        await using var log = await OpenAsync(NewSilo(SmallBlocks), topic);
        await log.AppendAsync(TestRecords.Range(0, 1));

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await log.AppendAsync([TestRecords.Create(1), TestRecords.Create(2, bodyBytes: 5000)]));

        Assert.Contains("Record 1", ex.Message);
        Assert.Contains("4096", ex.Message);
        Assert.Contains(nameof(AzureLogOptions.MaxAppendBytes), ex.Message);
        Assert.Equal(1, log.HighWatermark); // nothing of the refused batch was written
        Assert.Equal(1, await log.AppendAsync(TestRecords.Range(1, 1)));
    }

    [Fact]
    public async Task Segments_roll_before_the_block_limit_and_recover_after_a_restart()
    {
        var topic = NewTopic();
        void FourBlocks(AzureLogOptions o) => o.MaxBlocksPerSegment = 4;
        var log = await OpenAsync(NewSilo(FourBlocks), topic);
        for (var i = 0; i < 10; i++)
        {
            await log.AppendAsync(TestRecords.Range(i, 1)); // one block each
        }

        // A new partition's first segment has no fence: 3 data blocks + the seal per segment.
        var blobs = await SegmentBlobsAsync(topic);
        Assert.Equal([0L, 3, 6, 9], blobs.Select(b => long.Parse(b.Name[(b.Name.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var blob in blobs)
        {
            var blocks = (await Container.GetAppendBlobClient(blob.Name).GetPropertiesAsync()).Value.BlobCommittedBlockCount;
            Assert.InRange(blocks, 1, 4);
        }

        Assert.Equal(10, (await TestRecords.ReadAllAsync(log)).Count);
        await log.DisposeAsync();

        // Reopen: sealed segments come back from their seal summaries, the active one is fenced (or rolled when full).
        for (var restart = 0; restart < 3; restart++)
        {
            await using var reopened = await OpenAsync(NewSilo(FourBlocks), topic);
            Assert.Equal(10 + restart, reopened.HighWatermark);
            Assert.All(reopened.Segments.SkipLast(1), s => Assert.True(s.Sealed && s.Index.Count > 0));
            Assert.Equal(10 + restart, await reopened.AppendAsync(TestRecords.Range(10 + restart, 1)));
            var all = await TestRecords.ReadAllAsync(reopened);
            Assert.Equal(Enumerable.Range(0, 11 + restart).Select(i => $"msg-{i:D8}"), all.Select(r => r.MessageId));
        }

        foreach (var blob in await SegmentBlobsAsync(topic))
        {
            Assert.InRange((await Container.GetAppendBlobClient(blob.Name).GetPropertiesAsync()).Value.BlobCommittedBlockCount, 1, 4);
        }
    }

    [Fact]
    public async Task An_invalid_tail_is_ignored_consistently_and_appends_continue_in_a_new_segment()
    {
        var topic = NewTopic();
        var log = await OpenAsync(NewSilo(), topic);
        await log.AppendAsync(TestRecords.Range(0, 4));
        await log.DisposeAsync();

        // A record block that fails its CRC at the end of the active segment (what a torn or foreign write would leave).
        var blobName = (await SegmentBlobsAsync(topic)).Single().Name;
        var torn = Frame(TestRecords.Create(4), 4);
        torn[^1] ^= 0xFF;
        await Container.GetAppendBlobClient(blobName).AppendBlockAsync(new MemoryStream(torn));

        var reopened = await OpenAsync(NewSilo(), topic);
        Assert.Equal(4, reopened.HighWatermark);
        Assert.Equal(4, await reopened.AppendAsync(TestRecords.Range(4, 2)));
        await reopened.DisposeAsync();

        for (var restart = 0; restart < 2; restart++)
        {
            await using var again = await OpenAsync(NewSilo(), topic);
            Assert.Equal(6, again.HighWatermark);
            var all = await TestRecords.ReadAllAsync(again);
            Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), all.Select(r => r.Offset));
            TestRecords.AssertSame(WithOffset(TestRecords.Create(4), 4), all[4]);
        }

        Assert.Equal(2, (await SegmentBlobsAsync(topic)).Count);
    }

    [Fact]
    public async Task A_segment_sealed_just_before_a_crash_gets_its_successor_on_open()
    {
        var topic = NewTopic();
        var log = await OpenAsync(NewSilo(), topic);
        await log.AppendAsync(TestRecords.Range(0, 3));
        var active = log.Segments[^1];
        await log.DisposeAsync();

        // Seal the segment as the writer would, then "crash" before the next segment is created.
        var seal = AzureSegmentFormat.CreateSeal(active.ToSummary());
        await Container.GetAppendBlobClient(active.BlobName).AppendBlockAsync(new MemoryStream(seal));

        await using var reopened = await OpenAsync(NewSilo(), topic);
        Assert.Equal(3, reopened.HighWatermark);
        Assert.Equal(2, reopened.Segments.Count);
        Assert.Equal(3, await reopened.AppendAsync(TestRecords.Range(3, 1)));
        Assert.Equal(4, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task A_sealed_segment_without_its_seal_is_scanned_and_damage_in_it_fails_only_the_reads_that_reach_it()
    {
        var topic = NewTopic();
        var prefix = $"{topic}/0/";
        // Segment 0 holds offsets 0-1 then garbage where 2-3 should be; segment 4 holds 4-5. Written by hand, no seal.
        var first = Container.GetAppendBlobClient($"{prefix}{0:D20}");
        await Container.CreateIfNotExistsAsync();
        await first.CreateAsync();
        await first.AppendBlockAsync(new MemoryStream([.. Frame(TestRecords.Create(0), 0), .. Frame(TestRecords.Create(1), 1), .. new byte[40]]));
        var second = Container.GetAppendBlobClient($"{prefix}{4:D20}");
        await second.CreateAsync();
        await second.AppendBlockAsync(new MemoryStream([.. Frame(TestRecords.Create(4), 4), .. Frame(TestRecords.Create(5), 5)]));

        await using var log = await OpenAsync(NewSilo(), topic);

        Assert.Equal(6, log.HighWatermark);
        Assert.Equal([0L, 1], (await log.ReadAsync(0, 100, int.MaxValue)).Select(r => r.Offset));
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await log.ReadAsync(2, 100, int.MaxValue));
        Assert.Equal([4L, 5], (await log.ReadAsync(4, 100, int.MaxValue)).Select(r => r.Offset));
        Assert.Equal(6, await log.AppendAsync(TestRecords.Range(6, 1)));
    }

    [Fact]
    public async Task Deleting_the_log_fences_an_instance_still_open_elsewhere()
    {
        var topic = NewTopic();
        var stale = await OpenAsync(NewSilo(), topic);
        await stale.AppendAsync(TestRecords.Range(0, 2));
        var owner = await OpenAsync(NewSilo(), topic);

        await owner.DeleteAsync();

        await Assert.ThrowsAsync<LogFencedException>(async () => await stale.AppendAsync(TestRecords.Range(2, 1)));
        Assert.Empty(await SegmentBlobsAsync(topic));
    }

    // 4 KiB blocks; the index interval keeps the seal block (the segment's index) within one block, as validation demands.
    private static void EveryRead(AzureLogOptions options) => options.OwnershipCheckInterval = TimeSpan.Zero;

    private static void SmallBlocks(AzureLogOptions options)
    {
        options.MaxAppendBytes = 4096;
        options.IndexIntervalBytes = 4096;
        options.SegmentBytes = 256 * 1024;
    }

    private static byte[] Frame(LogRecord record, long offset)
    {
        var frame = new byte[LogRecordCodec.GetFrameSize(record)];
        LogRecordCodec.Write(record, offset, frame.Length, frame);
        return frame;
    }

    private static LogRecord WithOffset(LogRecord record, long offset)
    {
        record.Offset = offset;
        return record;
    }
}
