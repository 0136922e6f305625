using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;
using static OrleansMQ.Tests.Storage.FileLogTestFiles;

namespace OrleansMQ.Tests.Storage;

/// <summary>
/// The file log's silo-wide journal (<see cref="FileLogOptions.Journal"/>). A crash is simulated by copying the data
/// directory while the broker runs (the disk as a crash would leave it, everything written so far on it) and then taking
/// away what a crash may take: the segment files' unflushed bytes (they are never fsync'd per round with a journal) and a
/// journal entry whose flush did not finish. The copy is then opened by a new factory, as a restarted silo would.
/// </summary>
public sealed class FileJournalTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string Live => Path.Combine(_directory.Path, "live");

    private string Crashed => Path.Combine(_directory.Path, "crashed");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Acknowledged_records_whose_segment_bytes_a_crash_lost_are_written_back_from_the_journal()
    {
        await using var factory = JournalFactory(Live);
        var log = await factory.OpenAsync(Topic, 0);
        var other = await factory.OpenAsync(Topic, 1);
        var records = TestRecords.Range(0, 30);
        for (var i = 0; i < 30; i += 3)
        {
            await Task.WhenAll(log.AppendAsync(records[i..(i + 3)]).AsTask(), other.AppendAsync(records[i..(i + 3)]).AsTask());
        }

        CrashCopy();
        Truncate(Path.Combine(Crashed, "topics", Topic, "0", FileSegment.FileName(0)), 0);        // lost everything unflushed
        Truncate(Path.Combine(Crashed, "topics", Topic, "1", FileSegment.FileName(0)), 1000);     // lost its tail, mid-record

        await using var restarted = JournalFactory(Crashed);
        foreach (var partition in new[] { 0, 1 })
        {
            var reopened = await restarted.OpenAsync(Topic, partition);
            var read = await TestRecords.ReadAllAsync(reopened);
            Assert.Equal(30, read.Count);
            for (var i = 0; i < 30; i++)
            {
                TestRecords.AssertSame(records[i], read[i]);
            }
        }
    }

    [Fact]
    public async Task Replay_stops_at_a_torn_journal_entry_and_keeps_every_round_before_it()
    {
        await using var factory = JournalFactory(Live);
        var log = await factory.OpenAsync(Topic, 0);
        await log.AppendAsync(TestRecords.Range(0, 4));
        await log.AppendAsync(TestRecords.Range(4, 4));
        var journal = Path.Combine(Live, FileJournal.FileName);
        var afterTwoRounds = new FileInfo(journal).Length;
        await log.AppendAsync(TestRecords.Range(8, 4));

        CrashCopy();
        // The third round's journal write was cut short by the crash (never acknowledged), and so were the segment's
        // bytes: the segment lost everything, the journal the end of the third entry.
        Truncate(Path.Combine(Crashed, "topics", Topic, "0", FileSegment.FileName(0)), 0);
        Truncate(Path.Combine(Crashed, FileJournal.FileName), afterTwoRounds + 30);

        await using var restarted = JournalFactory(Crashed);
        var reopened = await restarted.OpenAsync(Topic, 0);
        var read = await TestRecords.ReadAllAsync(reopened);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), read.Select(r => r.Offset));
        Assert.Equal(8, reopened.HighWatermark);
    }

    [Fact]
    public async Task Segment_files_deleted_by_retention_are_not_brought_back_by_a_replay()
    {
        var frame = TestRecords.FrameSize();
        await using var factory = JournalFactory(Live, segmentBytes: 5 * frame);
        var log = await factory.OpenAsync(Topic, 0);
        for (var i = 0; i < 23; i++)
        {
            await log.AppendAsync(TestRecords.Range(i, 1));
        }

        await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 12 });
        var kept = SegmentFiles(Live);
        Assert.Equal(["00000000000000000010.log", "00000000000000000015.log", "00000000000000000020.log"], kept);

        CrashCopy();
        await using var restarted = JournalFactory(Crashed, segmentBytes: 5 * frame);
        var reopened = await restarted.OpenAsync(Topic, 0);
        Assert.Equal(kept, SegmentFiles(Crashed));
        Assert.Equal(10, reopened.LowWatermark);
        Assert.Equal(Enumerable.Range(10, 13).Select(i => (long)i), (await TestRecords.ReadAllAsync(reopened, 10)).Select(r => r.Offset));
    }

    [Fact]
    public async Task A_partition_deleted_and_created_again_never_receives_its_predecessors_journaled_bytes()
    {
        await using var factory = JournalFactory(Live);
        var old = await factory.OpenAsync(Topic, 0);
        await old.AppendAsync(TestRecords.Range(0, 10));
        await old.DeleteAsync();

        // One record of the same size as the old first one: replaying the old entries under the new one would leave old
        // records 1..9 right behind it, valid and in sequence.
        var created = await factory.OpenAsync(Topic, 0);
        var fresh = new[] { TestRecords.Create(0, bodyBytes: 300, timestamp: TestRecords.BaseTime.AddDays(1)) };
        await created.AppendAsync(fresh);

        CrashCopy();
        Truncate(Path.Combine(Crashed, "topics", Topic, "0", FileSegment.FileName(0)), 0);
        await using var restarted = JournalFactory(Crashed);
        var reopened = await restarted.OpenAsync(Topic, 0);
        var read = await TestRecords.ReadAllAsync(reopened);
        TestRecords.AssertSame(fresh[0], Assert.Single(read));
    }

    [Fact]
    public async Task A_full_journal_is_checkpointed_and_a_round_larger_than_the_journal_goes_straight_to_the_segments()
    {
        await using var factory = JournalFactory(Live, journalBytes: 1024 * 1024);
        var log = await factory.OpenAsync(Topic, 0);
        var records = new List<LogRecord>();
        for (var i = 0; i < 40; i++)
        {
            var batch = TestRecords.Range(i * 10, 10, bodyBytes: 8000); // ~80 KB a round: the 1 MiB journal fills every ~12 rounds
            records.AddRange(batch);
            await log.AppendAsync(batch);
        }

        Assert.InRange(factory.Writer.JournalCheckpoints, 3, 4);
        Assert.True(factory.Writer.JournalBackgroundSyncs >= 3, $"{factory.Writer.JournalBackgroundSyncs} background segment syncs"); // every 256 KiB
        var huge = TestRecords.Range(400, 3, bodyBytes: 500_000); // 1.5 MB in one round: larger than the journal
        records.AddRange(huge);
        await log.AppendAsync(huge);

        CrashCopy();
        await using var restarted = JournalFactory(Crashed, journalBytes: 1024 * 1024);
        var read = await TestRecords.ReadAllAsync(await restarted.OpenAsync(Topic, 0));
        Assert.Equal(records.Count, read.Count);
        for (var i = 0; i < records.Count; i++)
        {
            TestRecords.AssertSame(records[i], read[i]);
        }
    }

    [Fact]
    public async Task A_journal_left_by_a_crash_is_replayed_even_when_the_journal_is_turned_off_and_then_removed()
    {
        await using var factory = JournalFactory(Live);
        await (await factory.OpenAsync(Topic, 0)).AppendAsync(TestRecords.Range(0, 5));

        CrashCopy();
        Truncate(Path.Combine(Crashed, "topics", Topic, "0", FileSegment.FileName(0)), 0);
        await using var restarted = Factory(Crashed);
        Assert.Equal(5, (await TestRecords.ReadAllAsync(await restarted.OpenAsync(Topic, 0))).Count);
        Assert.False(File.Exists(Path.Combine(Crashed, FileJournal.FileName)));
    }

    [Fact]
    public async Task A_clean_shutdown_flushes_the_segments_and_empties_the_journal()
    {
        await using (var factory = JournalFactory(Live))
        {
            await (await factory.OpenAsync(Topic, 0)).AppendAsync(TestRecords.Range(0, 5));
        }

        // Nothing is left to replay: damage to the segment after a clean stop is recovery's to cut, not the journal's to repair.
        Truncate(SegmentPath(Live, 0), 2 * TestRecords.FrameSize() + 7);
        await using var restarted = JournalFactory(Live);
        var reopened = await restarted.OpenAsync(Topic, 0);
        Assert.Equal(2, reopened.HighWatermark);
    }

    [Fact]
    public async Task Journal_size_out_of_range_is_refused_with_the_limits()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => JournalFactory(Live, journalBytes: 1000));
        Assert.Contains(ex.Failures, f => f.Contains("JournalBytes is 1000; it must be between 1048576 (1 MiB) and 4294967296 (4 GiB)", StringComparison.Ordinal));
        await Task.CompletedTask;
    }

    private static FileMessageLogFactory JournalFactory(string directory, long segmentBytes = FileLogOptions.DefaultSegmentBytes, long journalBytes = FileLogOptions.DefaultJournalBytes) =>
        Factory(directory, segmentBytes, journal: true, journalBytes: journalBytes);

    // The disk as a crash right now would leave it, before the crash takes anything away.
    private void CrashCopy() => TempDirectory.CopyTree(Live, Crashed);
}
