using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Server.Grains;

[GrainType("omq.directory")]
internal sealed class TopicDirectoryGrain(
    [PersistentState("directory", OrleansMQServerOptions.GrainStorageName)] IPersistentState<TopicDirectoryState> state) : Grain, ITopicDirectoryGrain
{
    public async Task UpsertAsync(string topic, bool hasSubscribers)
    {
        if (state.State.Topics.TryGetValue(topic, out var existing) && existing == hasSubscribers)
        {
            return;
        }

        state.State.Topics[topic] = hasSubscribers;
        await state.WriteStateAsync();
    }

    public async Task RemoveAsync(string topic)
    {
        if (state.State.Topics.Remove(topic))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Topics.Keys.Order(StringComparer.Ordinal)]);

    public Task<IReadOnlyList<string>> ListWithSubscribersAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Topics.Where(t => t.Value).Select(t => t.Key).Order(StringComparer.Ordinal)]);
}

[GenerateSerializer, Alias("omq.directory-state")]
internal sealed class TopicDirectoryState
{
    /// <summary>Topic name → has a subscriber grain.</summary>
    [Id(0)] public Dictionary<string, bool> Topics { get; set; } = new(StringComparer.Ordinal);
}
