using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Server.Grains;

/// <summary>
/// An exchange's definition and bindings. Routers cache them for at most <see cref="OrleansMQServerOptions.RoutingCacheTtl"/>;
/// a change returns only after that long, so no router anywhere can still route by the old bindings afterwards.
/// </summary>
[GrainType("omq.exchange")]
internal sealed partial class ExchangeGrain(
    [PersistentState("exchange", OrleansMQServerOptions.GrainStorageName)] IPersistentState<ExchangeState> state,
    IOptions<OrleansMQServerOptions> options,
    Transforms.TransformPipeline transforms,
    ILogger<ExchangeGrain> logger) : Grain, IExchangeGrain
{
    /// <summary>RabbitMQ's limit on routing and binding keys, in characters here.</summary>
    private const int MaxKeyLength = 255;

    private string Name => this.GetPrimaryKeyString();

    private IExchangeDirectoryGrain Directory => GrainFactory.GetGrain<IExchangeDirectoryGrain>(IExchangeDirectoryGrain.Key);

    public async Task<ExchangeInfo> CreateAsync(ExchangeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate(Name);
        if (state.State.Info is { } existing)
        {
            if (existing.Spec != spec)
            {
                throw new OrleansMQException(ErrorCode.AlreadyExists, $"Exchange '{Name}' already exists with a different definition (type {existing.Spec.Type}).");
            }

            // Also lists exchanges created before the directory existed, once they are declared again.
            await Directory.AddAsync(Name);
            return existing;
        }

        state.State.Info = new ExchangeInfo { Name = Name, Spec = spec, Version = 1 };
        await state.WriteStateAsync();
        // After the state: a listed exchange always exists; a crash in between leaves it unlisted until declared again.
        await Directory.AddAsync(Name);
        LogCreated(logger, Name, spec.Type);
        return state.State.Info;
    }

    public Task<ExchangeInfo?> TryGetAsync() => Task.FromResult(state.State.Info);

    public async Task DeleteAsync()
    {
        _ = RequireInfo();
        await state.ClearStateAsync();
        state.State = new ExchangeState();
        await Directory.RemoveAsync(Name);
        await WaitForRouterCachesAsync();
    }

    public async Task<ExchangeInfo> BindAsync(Binding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var info = RequireInfo();
        Validate(info, binding);
        if (info.Bindings.Contains(binding))
        {
            return info;
        }

        if (await GrainFactory.GetGrain<ITopicGrain>(binding.Destination).TryGetAsync() is null)
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Cannot bind exchange '{Name}' to '{binding.Destination}': no such topic or queue.");
        }

        return await UpdateAsync(info with { Bindings = [.. info.Bindings, binding], Version = info.Version + 1 });
    }

    public async Task<ExchangeInfo> UnbindAsync(Binding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var info = RequireInfo();
        if (!info.Bindings.Contains(binding))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Exchange '{Name}' has no binding to '{binding.Destination}' with key '{binding.Key}'.");
        }

        return await UpdateAsync(info with { Bindings = [.. info.Bindings.Where(b => !b.Equals(binding))], Version = info.Version + 1 });
    }

    private async Task<ExchangeInfo> UpdateAsync(ExchangeInfo info)
    {
        state.State.Info = info;
        await state.WriteStateAsync();
        await WaitForRouterCachesAsync();
        return info;
    }

    /// <summary>Any router copy taken before the write above expires within the TTL; waiting it out makes the change visible everywhere.</summary>
    private Task WaitForRouterCachesAsync() => Task.Delay(options.Value.RoutingCacheTtl + TimeSpan.FromMilliseconds(20));

    private void Validate(ExchangeInfo info, Binding binding)
    {
        Names.Validate(binding.Destination, "binding destination");
        if (binding.Key.Length > MaxKeyLength)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Binding key on exchange '{Name}' is {binding.Key.Length} characters; the limit is {MaxKeyLength}.");
        }

        if (binding.Headers is { Count: > MessageLimits.MaxHeaders })
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Binding on exchange '{Name}' has {binding.Headers.Count} headers; the limit is {MessageLimits.MaxHeaders}.");
        }

        transforms.Validate(binding.Transforms, $"Binding of exchange '{Name}' to '{binding.Destination}'");
        if (binding.Filter is { } filter)
        {
            Routing.MessageFilter.Parse(filter);
        }

        if (info.Spec.Type == ExchangeType.Headers && binding.Headers is not { Count: > 0 })
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Binding on headers exchange '{Name}' needs at least one header to match.");
        }
    }

    private ExchangeInfo RequireInfo() => state.State.Info ?? throw OrleansMQException.NotFound("Exchange", Name);

    [LoggerMessage(1401, LogLevel.Information, "Exchange {Exchange} ({Type}) created")]
    private static partial void LogCreated(ILogger logger, string exchange, ExchangeType type);
}

/// <summary>The persisted state of an exchange grain.</summary>
[GenerateSerializer, Alias("omq.exchange-state")]
internal sealed class ExchangeState
{
    [Id(0)] public ExchangeInfo? Info { get; set; }
}
