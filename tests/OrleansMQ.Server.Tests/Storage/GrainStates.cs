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
