using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansMQ.Management;
using OrleansMQ.Management.Actions;
using OrleansMQ.Management.Health;
using OrleansMQ.Management.Queries;
using OrleansMQ.Management.Rates;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the management page and the broker's health checks in an ASP.NET Core app that hosts a silo.</summary>
public static class OrleansMQManagementServiceCollectionExtensions
{
    /// <summary>The health check tag of the readiness checks (<c>/health/ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Adds the management page (Razor Pages, the rate sampler) with options bound from <paramref name="configuration"/>
    /// (the <c>Management</c> section). Map it with <c>app.MapOrleansMQManagement()</c>. Idempotent.
    /// </summary>
    public static IServiceCollection AddOrleansMQManagement(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<OrleansMQManagementOptions>().Bind(configuration).ValidateOnStart();
        if (services.Any(s => s.ServiceType == typeof(RateSampler)))
        {
            return services;
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansMQManagementOptions>, OrleansMQManagementOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddOrleansMQClient();
        services.AddSingleton<RateSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<RateSampler>());
        services.AddSingleton<ClusterRates>();
        services.AddSingleton<ManagementQueries>();
        services.AddSingleton<ManagementActions>();
        OrleansMQ.Management.Login.ManagementLogin.AddCookie(services);
        services.AddRazorPages().AddApplicationPart(typeof(OrleansMQManagementOptions).Assembly);
        return services;
    }

    /// <summary>
    /// Adds the broker's health checks: <c>storage</c> (the data directory is writable / Azure Storage answers) and
    /// <c>silo</c> (this silo is Active), both tagged <see cref="ReadyTag"/>. Map them with <c>app.MapOrleansMQHealthChecks()</c>.
    /// </summary>
    public static IHealthChecksBuilder AddOrleansMQHealthChecks(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage", HealthStatus.Unhealthy, [ReadyTag])
            .AddCheck<SiloActiveHealthCheck>("silo", HealthStatus.Unhealthy, [ReadyTag]);
    }
}
