using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;
using static OrleansMQ.Tests.Storage.FileLogTestFiles;

namespace OrleansMQ.Tests.Storage;

/// <summary>What only the file log has: files, segments, the writer thread, concurrent readers.</summary>
public sealed class FileMessageLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Segment_files_live_under_topics_topic_partition_named_by_base_offset()
    {
        var frame = TestRecords.FrameSize();
        await using var factory = Factory(_directory.Path, segmentBytes: 3 * frame + frame / 2);
        await using var log = await factory.OpenAsync(Topic, 0);

        await log.AppendAsync(TestRecords.Range(0, 7));
        await log.AppendAsync(TestRecords.Range(7, 1));
        await log.AppendAsync(TestRecords.Range(8, 2));

        Assert.Equal(["00000000000000000000.log", "00000000000000000003.log", "00000000000000000006.log", "00000000000000000009.log"], SegmentFiles(_directory.Path));
        Assert.Equal(3L * frame, new FileInfo(SegmentPath(_directory.Path, 0)).Length);
        Assert.Equal(3L * frame, new FileInfo(SegmentPath(_directory.Path, 6)).Length);
        Assert.Equal(1L * frame, new FileInfo(SegmentPath(_directory.Path, 9)).Length);
        Assert.Equal(10, (await TestRecords.ReadAllAsync(log)).Count);
    }

    [Fact]
    public async Task A_record_larger_than_a_segment_gets_a_segment_of_its_own()
    {
        await using var factory = Factory(_directory.Path, segmentBytes: 2048);
        await using var log = await factory.OpenAsync(Topic, 0);

        await log.AppendAsync([TestRecords.Create(0, 100), TestRecords.Create(1, 5000), TestRecords.Create(2, 100)]);

        Assert.Equal(["00000000000000000000.log", "00000000000000000001.log", "00000000000000000002.log"], SegmentFiles(_directory.Path));
        var all = await TestRecords.ReadAllAsync(log);
        Assert.Equal(5000, all[1].Body.Length);
    }

    [Fact]
    public async Task Retention_deletes_segment_files_on_disk()
    {
        var frame = TestRecords.FrameSize();
        await using var factory = Factory(_directory.Path, segmentBytes: 5 * frame);
        await using var log = await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 23));
        Assert.Equal(5, SegmentFiles(_directory.Path).Length);

        await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 12 });

        Assert.Equal(["00000000000000000010.log", "00000000000000000015.log", "00000000000000000020.log"], SegmentFiles(_directory.Path));
        Assert.Equal(13L * frame, log.SizeBytes);
    }

    [Fact]
    public async Task Reads_racing_retention_never_fail_and_never_return_deleted_or_out_of_order_records()
    {
        var frame = TestRecords.FrameSize();
        await using var factory = Factory(_directory.Path, segmentBytes: 3 * frame);
        await using var log = await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 300));
        using var stop = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            var reads = 0;
            var random = new Random(r);
            while (!stop.IsCancellationRequested || reads == 0)
            {
                var from = random.Next(0, 300);
                var batch = await log.ReadAsync(from, 40, int.MaxValue);
                Assert.NotEmpty(batch);
                Assert.True(batch[0].Offset >= from);
                for (var i = 1; i < batch.Count; i++)
                {
                    Assert.Equal(batch[i - 1].Offset + 1, batch[i].Offset);
                }

                reads++;
            }

            return reads;
        })).ToArray();

        for (var below = 3; below < 300; below += 3)
        {
            await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = below });
        }

        await stop.CancelAsync();
        var total = (await Task.WhenAll(readers)).Sum();
        Assert.True(total > 0);
        Assert.Equal(297, log.LowWatermark);
    }

    [Fact]
    public async Task Dispose_waits_for_appends_in_flight_and_reopening_recovers_them()
    {
        var factory = Factory(_directory.Path, segmentBytes: 4096);
        var log = await factory.OpenAsync(Topic, 0);
        var appends = Enumerable.Range(0, 20).Select(i => log.AppendAsync(TestRecords.Range(i * 5, 5)).AsTask()).ToArray();

        await log.DisposeAsync();

        Assert.All(appends, a => Assert.True(a.IsCompletedSuccessfully));
        await factory.DisposeAsync();
        await using var restarted = Factory(_directory.Path, segmentBytes: 4096);
        await using var reopened = await restarted.OpenAsync(Topic, 0);
        Assert.Equal(100, reopened.HighWatermark);
        Assert.Equal(100, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task Concurrent_appends_share_commit_rounds()
    {
        await using var factory = Factory(_directory.Path);
        await using var log = await factory.OpenAsync(Topic, 0);
        await using var other = await factory.OpenAsync(Topic, 1);

        var appends = Enumerable.Range(0, 200)
            .Select(i => (i % 2 == 0 ? log : other).AppendAsync(TestRecords.Range(i, 1)).AsTask())
            .ToArray();
        await Task.WhenAll(appends);

        Assert.Equal(100, log.HighWatermark);
        Assert.Equal(100, other.HighWatermark);
        Assert.True(factory.CommitRounds < 200, $"{factory.CommitRounds} commit rounds for 200 appends");
    }

    [Fact]
    public async Task A_round_over_several_partitions_fsyncs_their_files_side_by_side()
    {
        await using var factory = Factory(_directory.Path, parallelFlushes: 4);
        var logs = new IMessageLog[5];
        for (var p = 0; p < logs.Length; p++)
        {
            logs[p] = await factory.OpenAsync(Topic, p);
        }

        // Round 0 takes partition 4's append and is held before writing, while partitions 0-3 queue theirs: round 1
        // then holds all four.
        var entered = new SemaphoreSlim(0);
        var hold = new ManualResetEventSlim();
        factory.Writer.BeforeRound = () =>
        {
            entered.Release();
            hold.Wait(TimeSpan.FromSeconds(10));
        };
        var first = logs[4].AppendAsync(TestRecords.Range(0, 1)).AsTask();
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10)));
        factory.Writer.BeforeRound = null;

        // Each of round 1's flushes waits (up to 10 s) until another one runs too: one flush after another would wait in
        // vain, and the test would see no overlap.
        var calls = 0;
        var inFlush = 0;
        var maxInFlush = 0;
        var overlap = new ManualResetEventSlim();
        factory.Writer.BeforeFlush = () =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return; // round 0's only flush
            }

            var now = Interlocked.Increment(ref inFlush);
            InterlockedMax(ref maxInFlush, now);
            if (now >= 2)
            {
                overlap.Set();
            }

            overlap.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Decrement(ref inFlush);
        };
        var appends = logs.Take(4).Select((log, p) => log.AppendAsync(TestRecords.Range(p * 10, 3)).AsTask()).ToArray();
        hold.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(30));
        factory.Writer.BeforeFlush = null;

        Assert.True(maxInFlush >= 2, $"at most {maxInFlush} fsync(s) ran at once");
        Assert.Equal(5, calls);
        foreach (var log in logs)
        {
            Assert.Equal(log == logs[4] ? 1 : 3, log.HighWatermark);
            await log.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task Many_partitions_appending_at_once_keep_every_acknowledged_record_in_order(int parallelFlushes)
    {
        await using (var factory = Factory(_directory.Path, segmentBytes: 40 * TestRecords.FrameSize(), parallelFlushes: parallelFlushes))
        {
            var logs = new IMessageLog[8];
            for (var p = 0; p < logs.Length; p++)
            {
                logs[p] = await factory.OpenAsync(Topic, p);
            }

            // 8 partitions x 25 appends of 4 (rolling segments on the way), all in flight together.
            var appends = Enumerable.Range(0, 200).Select(i => logs[i % 8].AppendAsync(TestRecords.Range(i / 8 * 4, 4)).AsTask()).ToArray();
            var firsts = await Task.WhenAll(appends);
            for (var i = 0; i < appends.Length; i++)
            {
                Assert.Equal(i / 8 * 4, firsts[i]); // per partition, offsets in call order
            }

            foreach (var log in logs)
            {
                await log.DisposeAsync();
            }
        }

        await using var reopened = Factory(_directory.Path, segmentBytes: 40 * TestRecords.FrameSize(), parallelFlushes: parallelFlushes);
        for (var p = 0; p < 8; p++)
        {
            await using var log = await reopened.OpenAsync(Topic, p);
            Assert.Equal(Enumerable.Range(0, 100).Select(i => $"msg-{i:D8}"), (await TestRecords.ReadAllAsync(log)).Select(r => r.MessageId));
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Fact]
    public async Task A_failed_write_fails_the_log_until_it_is_reopened_and_loses_nothing_durable()
    {
        await using var factory = Factory(_directory.Path);
        var log = (FileMessageLog)await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 3));

        log.ActiveSegment.Handle.Dispose(); // the next write fails like an I/O error would

        var failed = await Assert.ThrowsAsync<IOException>(async () => await log.AppendAsync(TestRecords.Range(3, 2)));
        Assert.Contains("reopen", failed.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, log.HighWatermark);
        await Assert.ThrowsAsync<IOException>(async () => await log.AppendAsync(TestRecords.Range(3, 1)));
        await log.DisposeAsync();

        await using var reopened = await factory.OpenAsync(Topic, 0);
        Assert.Equal(3, reopened.HighWatermark);
        Assert.Equal(3, await reopened.AppendAsync(TestRecords.Range(3, 1)));
        Assert.Equal(4, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task Appends_are_invisible_until_the_writer_made_them_durable()
    {
        await using var factory = Factory(_directory.Path);
        await using var log = await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 2));
        using var roundStarted = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        factory.Writer.BeforeRound = () =>
        {
            roundStarted.Release();
            release.Wait();
        };

        var append = log.AppendAsync(TestRecords.Range(2, 3)).AsTask();
        await roundStarted.WaitAsync();

        Assert.False(append.IsCompleted);
        Assert.Equal(2, log.HighWatermark);
        Assert.Equal(2, (await TestRecords.ReadAllAsync(log)).Count);
        Assert.Empty(await log.ReadAsync(2, 10, int.MaxValue));
        Assert.Equal(2, await log.FindOffsetAsync(TestRecords.BaseTime.AddMinutes(3)));
        var next = log.AppendAsync(TestRecords.Range(5, 1)).AsTask(); // offsets are assigned before durability
        factory.Writer.BeforeRound = null;
        release.Set();

        Assert.Equal(2, await append);
        Assert.Equal(5, await next);
        Assert.Equal(6, log.HighWatermark);
        Assert.Equal(6, (await TestRecords.ReadAllAsync(log)).Count);
    }

    [Fact]
    public async Task Deleting_a_log_removes_its_directory()
    {
        await using var factory = Factory(_directory.Path);
        var log = await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 3));
        Assert.True(Directory.Exists(PartitionDirectory(_directory.Path)));

        await log.DeleteAsync();

        Assert.False(Directory.Exists(PartitionDirectory(_directory.Path)));
    }

    [Fact]
    public async Task Without_fsync_the_log_still_round_trips_and_recovers()
    {
        await using (var factory = Factory(_directory.Path, 2048, FsyncPolicy.Never))
        {
            await using var log = await factory.OpenAsync(Topic, 0);
            await log.AppendAsync(TestRecords.Range(0, 20));
        }

        await using var restarted = Factory(_directory.Path, 2048, FsyncPolicy.Never);
        await using var reopened = await restarted.OpenAsync(Topic, 0);
        Assert.Equal(20, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public void Invalid_options_are_rejected_when_the_factory_is_created()
    {
        Assert.Throws<OptionsValidationException>(() => new FileMessageLogFactory(Options.Create(new FileLogOptions())));
        var ex = Assert.Throws<OptionsValidationException>(() => new FileMessageLogFactory(Options.Create(new FileLogOptions
        {
            DataDirectory = _directory.Path,
            SegmentBytes = 10,
            MaxBytesPerCommit = 0,
            ParallelFlushes = 0,
        })));
        Assert.Equal(3, ex.Failures.Count());
        Assert.Contains(ex.Failures, f => f.Contains("ParallelFlushes is 0", StringComparison.Ordinal));
    }
}
