using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

/// <summary>What the file grain storage tests share: a serializer, a grain id, a small state and a read.</summary>
internal static class GrainStates
{
    public const string StateName = "cursor";

    private static readonly ServiceProvider Services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public static FileGrainStorage CreateStorage(FileGrainStorageOptions options) =>
        new("test", options, Services.GetRequiredService<Serializer>(), Services.GetRequiredService<IActivatorProvider>());

    public static Serializer Serializer => Services.GetRequiredService<Serializer>();

    public static GrainId Grain(string key = "orders/0/audit") => GrainId.Create("omq.subscription", key);

    public static GrainState<Dictionary<string, long>> State(Dictionary<string, long>? value = null, string? etag = null) =>
        new() { State = value ?? [], ETag = etag };

    public static async Task<GrainState<Dictionary<string, long>>> ReadAsync(IGrainStorage storage, GrainId grain)
    {
        var state = State();
        await storage.ReadStateAsync(StateName, grain, state);
        return state;
    }
}

/// <summary>A temporary directory and the file grain storages a test opens on it, all disposed after the test.</summary>
public abstract class FileGrainStorageTestBase : IDisposable
{
    private readonly List<FileGrainStorage> _storages = [];

    protected TempDirectory Temp { get; } = new();

    public void Dispose()
    {
        foreach (var storage in _storages)
        {
            storage.Dispose();
        }

        Temp.Dispose();
        GC.SuppressFinalize(this);
    }

    protected FileGrainStorage Open(FileGrainStorageOptions options)
    {
        var storage = GrainStates.CreateStorage(options);
        _storages.Add(storage);
        return storage;
    }
}
