using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Server.Grains;

[GrainType("omq.exchange-directory")]
internal sealed class ExchangeDirectoryGrain(
    [PersistentState("exchanges", OrleansMQServerOptions.GrainStorageName)] IPersistentState<ExchangeDirectoryState> state) : Grain, IExchangeDirectoryGrain
{
    public async Task AddAsync(string exchange)
    {
        if (state.State.Exchanges.Add(exchange))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string exchange)
    {
        if (state.State.Exchanges.Remove(exchange))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Exchanges.Order(StringComparer.Ordinal)]);
}

[GenerateSerializer, Alias("omq.exchange-directory-state")]
internal sealed class ExchangeDirectoryState
{
    [Id(0)] public HashSet<string> Exchanges { get; set; } = new(StringComparer.Ordinal);
}
