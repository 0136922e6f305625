using System.Collections.Concurrent;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

/// <summary>
/// The grain state journal's two files: when one is full, commits go on in the other while the full one's state files
/// are written in the background; after a crash the older file is applied first, so the newest content wins.
/// </summary>
public sealed class StateJournalSwitchTests : IDisposable
{
    private const long Capacity = 64 * 1024;
    private readonly TempDirectory _temp = new();

    private string Live => Path.Combine(_temp.Path, "live");

    private string Crashed => Path.Combine(_temp.Path, "crashed");

    public void Dispose() => _temp.Dispose();

    private string File(int i) => Path.Combine(Live, $"g{i}.state");

    private static byte[] Content(int i, int round) => [.. BitConverter.GetBytes(i), .. BitConverter.GetBytes(round), .. new byte[4000]];

    [Fact]
    public async Task Commits_go_on_while_a_full_file_is_checkpointed_and_a_crash_meanwhile_keeps_the_newest_content()
    {
        using var gate = new ManualResetEventSlim(false);
        var written = new ConcurrentDictionary<string, byte[]?>(StringComparer.Ordinal);
        var journal = StateJournal.Open(Live, Capacity, keep: true, (file, content) =>
        {
            gate.Wait(TimeSpan.FromSeconds(30)); // a slow checkpoint: each file an fsync'd replace
            written[file] = content;
        })!;
        try
        {
            // ~4 KB entries: the first file (64 KiB) holds 15, so the 16th commit switches files.
            for (var i = 0; i < 16; i++)
            {
                await journal.CommitAsync(File(i), _ => (Content(i, 1), 0));
            }

            // The checkpoint of the first file is stuck; commits to the second file still complete.
            for (var i = 0; i < 10; i++)
            {
                await journal.CommitAsync(File(i), _ => (i == 3 ? null : Content(i, 2), 0)).WaitAsync(TimeSpan.FromSeconds(10));
            }

            Assert.Equal(0, journal.Checkpoints);
            Assert.Empty(written);
            Assert.True(journal.TryGetLatest(File(12), out var fromFirst)); // journaled in the first file only
            Assert.Equal(Content(12, 1), fromFirst);
            Assert.True(journal.TryGetLatest(File(5), out var fromSecond));
            Assert.Equal(Content(5, 2), fromSecond);
            Assert.True(journal.TryGetLatest(File(3), out var deleted));
            Assert.Null(deleted);

            // A crash now: both files hold changes; the restart applies the older one first.
            TempDirectory.CopyTree(Live, Crashed);
            var applied = new List<(string File, byte[]? Content)>();
            var recovered = StateJournal.Open(Crashed, Capacity, keep: false, (file, content) => applied.Add((Path.GetFileName(file), content)));
            Assert.Null(recovered);
            var last = applied.GroupBy(a => a.File).ToDictionary(g => g.Key, g => g.Last().Content);
            Assert.Equal(16, last.Count);
            for (var i = 0; i < 16; i++)
            {
                Assert.Equal(i == 3 ? null : Content(i, i < 10 ? 2 : 1), last[$"g{i}.state"]);
            }

            Assert.False(System.IO.File.Exists(Path.Combine(Crashed, StateJournal.FileName)));
            Assert.False(System.IO.File.Exists(Path.Combine(Crashed, StateJournal.SecondFileName)));

            gate.Set();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (journal.Checkpoints == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            Assert.Equal(1, journal.Checkpoints);
            Assert.Equal(15, written.Count); // the first file's changes (files 0-14, round 1)
            Assert.All(written, w => Assert.Equal(Content(int.Parse(Path.GetFileNameWithoutExtension(w.Key)[1..]), 1), w.Value));
            Assert.True(journal.TryGetLatest(File(5), out var stillNewest));
            Assert.Equal(Content(5, 2), stillNewest);
            Assert.False(journal.TryGetLatest(File(12), out _)); // written: read from its file from now on
        }
        finally
        {
            gate.Set();
            journal.Dispose();
        }

        // Dispose checkpoints the second file too: round 2 wins, file 3 deleted.
        Assert.Equal(Content(5, 2), written[Path.Combine(Live, "g5.state")]);
        Assert.Null(written[Path.Combine(Live, "g3.state")]);
    }

    [Fact]
    public async Task A_journal_from_before_the_second_file_is_applied_and_then_used_with_it()
    {
        // Written by one file's journal: replayed, then both files are created and used.
        var applied = new ConcurrentDictionary<string, byte[]?>(StringComparer.Ordinal);
        var first = StateJournal.Open(Live, Capacity, keep: true, (file, content) => applied[file] = content)!;
        await first.CommitAsync(Path.Combine(Live, "a.state"), _ => (new byte[] { 1 }, 0));
        TempDirectory.CopyTree(Live, Crashed);
        first.Dispose();
        System.IO.File.Delete(Path.Combine(Crashed, StateJournal.SecondFileName));

        applied.Clear();
        var reopened = StateJournal.Open(Crashed, Capacity, keep: true, (file, content) => applied[file] = content)!;
        try
        {
            Assert.Equal([1], applied[Path.Combine(Crashed, "a.state")]);
            Assert.True(System.IO.File.Exists(Path.Combine(Crashed, StateJournal.SecondFileName)));
            await reopened.CommitAsync(Path.Combine(Crashed, "a.state"), _ => (new byte[] { 2 }, 0));
        }
        finally
        {
            reopened.Dispose();
        }

        Assert.Equal([2], applied[Path.Combine(Crashed, "a.state")]);
    }
}
