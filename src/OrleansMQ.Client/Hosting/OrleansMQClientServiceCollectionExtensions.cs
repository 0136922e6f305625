using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansMQ.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OrleansMQ client.</summary>
public static class OrleansMQClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IOrleansMQClient"/> on top of the Orleans <see cref="IGrainFactory"/> already registered (an Orleans
    /// client from <c>UseOrleansClient</c>, or a silo, for use from inside grains). Idempotent.
    /// </summary>
    public static IServiceCollection AddOrleansMQClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IOrleansMQClient>(sp => new OrleansMQClient(sp.GetRequiredService<IGrainFactory>()));
        return services;
    }
}
