using Microsoft.Extensions.Options;
using Orleans.Storage;
using OrleansMQ.Server.Storage;
using static OrleansMQ.Tests.Storage.GrainStates;

namespace OrleansMQ.Tests.Storage;

/// <summary>
/// <see cref="FileGrainStorage"/> with its write-ahead journal (<see cref="FileGrainStorageOptions.Journal"/>): the same
/// versions and ETag checks as without it, group commit, checkpoints, and crash recovery (a crash is simulated by copying
/// the live directory, which then holds exactly what was made durable: the journal and the checkpointed state files).
/// </summary>
public sealed class StateJournalTests : FileGrainStorageTestBase
{
    private string Live => Path.Combine(Temp.Path, "live");

    private string Crashed => Path.Combine(Temp.Path, "crashed");

    private FileGrainStorage Storage(string? root = null, bool journal = true, long journalBytes = 16L << 20, bool deleteOnClear = false) =>
        Open(new FileGrainStorageOptions { RootDirectory = root ?? Live, Journal = journal, JournalBytes = journalBytes, DeleteStateOnClear = deleteOnClear });

    private static string[] StateFiles(string root) =>
        Directory.Exists(root) ? Directory.GetFiles(root, "*.state", SearchOption.AllDirectories) : [];

    [Fact]
    public async Task Versions_and_reads_are_as_without_the_journal_and_state_files_are_written_at_the_checkpoint()
    {
        var storage = Storage();
        var grain = Grain();
        var state = State(new() { ["committed"] = 41 });
        await storage.WriteStateAsync(StateName, grain, state);
        state.State!["committed"] = 42;
        await storage.WriteStateAsync(StateName, grain, state);
        Assert.Equal("2", state.ETag);

        // Durable in the journal only: no state file yet, and reads see the journaled content.
        Assert.Empty(StateFiles(Live));
        Assert.True(File.Exists(Path.Combine(Live, StateJournal.FileName)));
        var read = await ReadAsync(storage, grain);
        Assert.Equal(("2", 42L), (read.ETag, read.State!["committed"]));

        var stale = State(new() { ["x"] = 1 }, etag: "1");
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, stale));
        Assert.Equal("2", conflict.StoredEtag);

        await storage.ClearStateAsync(StateName, grain, read);
        Assert.Equal("3", read.ETag); // the tombstone keeps counting

        // Dispose checkpoints: the files are written and the next instance reads them with nothing left to replay.
        storage.Dispose();
        Assert.Single(StateFiles(Live));
        var restarted = Storage();
        var cleared = await ReadAsync(restarted, grain);
        Assert.False(cleared.RecordExists);
        Assert.Equal("3", cleared.ETag);
        cleared.State!["committed"] = 1;
        await restarted.WriteStateAsync(StateName, grain, cleared);
        Assert.Equal("4", cleared.ETag);
    }

    [Fact]
    public async Task Concurrent_changes_share_journal_flushes_and_same_etag_writers_still_let_exactly_one_win()
    {
        var storage = Storage();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => storage.WriteStateAsync(StateName, Grain($"g{i}"), State(new() { ["v"] = i }))));
        var journal = storage.Journal!;
        Assert.InRange(journal.Commits, 1, 49);

        var grain = Grain("contended");
        await storage.WriteStateAsync(StateName, grain, State(new() { ["v"] = 0 }));
        var outcomes = await Task.WhenAll(Enumerable.Range(1, 8).Select(async i =>
        {
            try
            {
                await storage.WriteStateAsync(StateName, grain, State(new() { ["v"] = i }, etag: "1"));
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Equal(1, outcomes.Count(won => won));
        Assert.Equal("2", (await ReadAsync(storage, grain)).ETag);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i, (await ReadAsync(storage, Grain($"g{i}"))).State!["v"]);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task After_a_crash_the_journal_is_applied_before_anything_reads_even_with_journaling_turned_off(bool journalAfterRestart)
    {
        var storage = Storage(deleteOnClear: true);
        var kept = State(new() { ["v"] = 1 });
        await storage.WriteStateAsync(StateName, Grain("kept"), kept);
        kept.State!["v"] = 2;
        await storage.WriteStateAsync(StateName, Grain("kept"), kept);
        var deleted = State(new() { ["v"] = 9 });
        await storage.WriteStateAsync(StateName, Grain("deleted"), deleted);
        await storage.ClearStateAsync(StateName, Grain("deleted"), deleted);

        TempDirectory.CopyTree(Live, Crashed);
        Assert.Empty(StateFiles(Crashed));

        var restarted = Storage(Crashed, journal: journalAfterRestart, deleteOnClear: true);
        var read = await ReadAsync(restarted, Grain("kept"));
        Assert.Equal(("2", 2L), (read.ETag, read.State!["v"]));
        Assert.False((await ReadAsync(restarted, Grain("deleted"))).RecordExists);
        Assert.Single(StateFiles(Crashed)); // applied: "kept" written, "deleted" never recreated
        Assert.Equal(journalAfterRestart, File.Exists(Path.Combine(Crashed, StateJournal.FileName)));

        read.State!["v"] = 3;
        await restarted.WriteStateAsync(StateName, Grain("kept"), read);
        Assert.Equal("3", read.ETag);
    }

    [Fact]
    public async Task A_full_journal_checkpoints_and_a_crash_after_checkpoints_loses_nothing()
    {
        var storage = Storage(journalBytes: 64 * 1024);
        var states = Enumerable.Range(0, 20).Select(_ => State()).ToArray();
        for (var round = 0; round < 100; round++)
        {
            for (var g = 0; g < states.Length; g++)
            {
                states[g].State!["round"] = round;
                states[g].State!["padding"] = long.MaxValue - round; // ~200-byte entries: 64 KiB holds ~300
                await storage.WriteStateAsync(StateName, Grain($"g{g}"), states[g]);
            }
        }

        Assert.True(storage.Journal!.Checkpoints >= 3, $"{storage.Journal.Checkpoints} checkpoints");
        Assert.Equal(20, StateFiles(Live).Length);

        TempDirectory.CopyTree(Live, Crashed);
        var restarted = Storage(Crashed, journalBytes: 64 * 1024);
        for (var g = 0; g < states.Length; g++)
        {
            var read = await ReadAsync(restarted, Grain($"g{g}"));
            Assert.Equal(("100", 99L), (read.ETag, read.State!["round"]));
        }
    }

    [Fact]
    public async Task A_second_storage_on_the_same_directory_is_refused_while_the_first_holds_the_journal()
    {
        var first = Storage();
        await first.WriteStateAsync(StateName, Grain(), State(new() { ["v"] = 1 }));

        // Its state would be invisible to the first (and the first's to it): refused, loudly, at its first use.
        var error = await Assert.ThrowsAsync<IOException>(() => ReadAsync(Storage(), Grain()));
        Assert.Contains(StateJournal.FileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("a data directory serves one silo", error.Message, StringComparison.Ordinal);

        first.Dispose();
        Assert.Equal(1, (await ReadAsync(Storage(), Grain())).State!["v"]);
    }

    [Fact]
    public void A_journal_size_out_of_range_is_rejected_with_the_limits()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Storage(journalBytes: 1024));
        Assert.Contains("JournalBytes is 1024", error.Message, StringComparison.Ordinal);
        Assert.Contains("64 KiB and 1 GiB", error.Message, StringComparison.Ordinal);
    }
}
