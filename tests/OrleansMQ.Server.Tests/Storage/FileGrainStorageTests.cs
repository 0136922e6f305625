using Microsoft.Extensions.Options;
using Orleans.Storage;
using OrleansMQ.Server.Storage;
using static OrleansMQ.Tests.Storage.GrainStates;

namespace OrleansMQ.Tests.Storage;

public sealed class FileGrainStorageTests : FileGrainStorageTestBase
{
    private FileGrainStorage Storage(bool deleteOnClear = false) =>
        Open(new FileGrainStorageOptions { RootDirectory = Temp.Path, DeleteStateOnClear = deleteOnClear });

    [Fact]
    public async Task A_missing_state_reads_as_a_new_empty_state()
    {
        var state = await ReadAsync(Storage(), Grain());

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Empty(state.State!);
    }

    [Fact]
    public async Task Write_read_and_clear_round_trip_and_survive_a_new_instance()
    {
        var grain = Grain();
        var state = State(new() { ["committed"] = 41 });
        await Storage().WriteStateAsync(StateName, grain, state);
        Assert.Equal("1", state.ETag);
        Assert.True(state.RecordExists);

        var read = await ReadAsync(Storage(), grain);
        Assert.True(read.RecordExists);
        Assert.Equal("1", read.ETag);
        Assert.Equal(41, read.State!["committed"]);

        read.State!["committed"] = 42;
        await Storage().WriteStateAsync(StateName, grain, read);
        Assert.Equal("2", read.ETag);
        Assert.Equal(42, (await ReadAsync(Storage(), grain)).State!["committed"]);

        await Storage().ClearStateAsync(StateName, grain, read);
        Assert.False(read.RecordExists);
        Assert.Empty(read.State!);
        Assert.Equal("3", read.ETag); // the tombstone keeps the version counting, so ETags are never reused

        var cleared = await ReadAsync(Storage(), grain);
        Assert.False(cleared.RecordExists);
        Assert.Equal("3", cleared.ETag);
        Assert.Empty(cleared.State!);

        cleared.State!["committed"] = 1;
        await Storage().WriteStateAsync(StateName, grain, cleared);
        Assert.Equal("4", cleared.ETag);
    }

    [Fact]
    public async Task A_stale_etag_on_write_or_clear_throws_InconsistentStateException()
    {
        var storage = Storage();
        var grain = Grain();
        var owner = State(new() { ["a"] = 1 });
        await storage.WriteStateAsync(StateName, grain, owner);
        var stale = await ReadAsync(storage, grain);
        await storage.WriteStateAsync(StateName, grain, owner); // version 2

        var write = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, stale));
        Assert.Equal("2", write.StoredEtag);
        Assert.Equal("1", write.CurrentEtag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, State(new() { ["new"] = 1 })));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, Grain("never-written"), State(etag: "1")));
        Assert.Equal(1, (await ReadAsync(storage, grain)).State!["a"]);
    }

    [Fact]
    public async Task Concurrent_writers_with_the_same_etag_let_exactly_one_win()
    {
        var storage = Storage();
        var grain = Grain();
        await storage.WriteStateAsync(StateName, grain, State(new() { ["v"] = 0 }));

        var writers = Enumerable.Range(1, 8).Select(i => storage.WriteStateAsync(StateName, grain, State(new() { ["v"] = i }, etag: "1"))).ToArray();
        var outcomes = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                await w;
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Equal(1, outcomes.Count(won => won));
        Assert.Equal("2", (await ReadAsync(storage, grain)).ETag);
    }

    [Fact]
    public async Task Clearing_with_DeleteStateOnClear_removes_the_file()
    {
        var storage = Storage(deleteOnClear: true);
        var grain = Grain();
        var state = State(new() { ["a"] = 1 });
        await storage.WriteStateAsync(StateName, grain, state);

        await storage.ClearStateAsync(StateName, grain, state);

        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Empty(Directory.GetFiles(Temp.Path, "*", SearchOption.AllDirectories));
        await storage.WriteStateAsync(StateName, grain, state);
        Assert.Equal("1", state.ETag);
    }

    [Fact]
    public async Task Any_grain_id_maps_to_a_safe_distinct_file_inside_the_root()
    {
        var storage = Storage();
        string[] keys = ["../../etc/passwd", "a/b", "a_b", "a\\b", "ключ ü 鍵", new string('x', 1000), "a%2Fb", ".", "..", "con", "a:b*c?"];

        foreach (var key in keys)
        {
            await storage.WriteStateAsync(StateName, Grain(key), State(new() { [key] = key.Length }));
        }

        var files = Directory.GetFiles(Temp.Path, "*", SearchOption.AllDirectories);
        Assert.Equal(keys.Length, files.Length);
        Assert.All(files, f => Assert.StartsWith(Temp.Path + Path.DirectorySeparatorChar, Path.GetFullPath(f), StringComparison.Ordinal));
        Assert.All(files, f => Assert.True(Path.GetFileName(f).Length < 150, f));
        foreach (var key in keys)
        {
            Assert.Equal(key.Length, (await ReadAsync(Storage(), Grain(key))).State![key]);
        }

        // The same grain under another state name is another record.
        var other = State();
        await storage.ReadStateAsync("other-state", Grain("a/b"), other);
        Assert.False(other.RecordExists);
    }

    [Fact]
    public async Task Writes_replace_the_file_atomically_and_leave_no_temporary_files()
    {
        var storage = Storage();
        var grain = Grain();
        var state = State();
        for (var i = 0; i < 20; i++)
        {
            state.State!["n"] = i;
            await storage.WriteStateAsync(StateName, grain, state);
        }

        var files = Directory.GetFiles(Temp.Path, "*", SearchOption.AllDirectories);
        Assert.Single(files);
        Assert.EndsWith(".state", files[0], StringComparison.Ordinal);
        Assert.Equal("20", state.ETag);
    }

    [Fact]
    public async Task A_corrupt_state_file_fails_loudly_instead_of_reading_as_empty()
    {
        var storage = Storage();
        var grain = Grain();
        var state = State(new() { ["a"] = 1 });
        await storage.WriteStateAsync(StateName, grain, state);
        var file = Directory.GetFiles(Temp.Path, "*.state", SearchOption.AllDirectories).Single();
        FileLogTestFiles.FlipByte(file, 30);

        await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(storage, grain));
        await Assert.ThrowsAsync<InvalidDataException>(() => storage.WriteStateAsync(StateName, grain, state));
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        var serializer = GrainStates.Serializer;

        Assert.Throws<OptionsValidationException>(() => new FileGrainStorage("x", new FileGrainStorageOptions(), serializer));
        Assert.Throws<OptionsValidationException>(() => new FileGrainStorage("x", new FileGrainStorageOptions { RootDirectory = Temp.Path, WriterThreads = 0 }, serializer));
    }
}
