using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansMQ.Streaming;

namespace Orleans.Hosting;

/// <summary>Adds an OrleansMQ-backed Orleans Streams provider to a silo or a client.</summary>
public static class OrleansMQStreamsHostingExtensions
{
    /// <summary>
    /// Adds the persistent stream provider <paramref name="name"/> backed by an OrleansMQ topic. The silo must run the
    /// broker (<c>AddOrleansMQ</c>); explicit subscriptions need a grain storage named <c>PubSubStore</c>, as for any
    /// persistent stream provider.
    /// </summary>
    public static ISiloBuilder AddOrleansMQStreams(this ISiloBuilder builder, string name, Action<OrleansMQStreamOptions>? configure = null,
        Action<ISiloPersistentStreamConfigurator>? configureStreams = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddOptions(builder.Services, name, configure);
        return builder.AddPersistentStreams(name, OrleansMQQueueAdapterFactory.Create, c => configureStreams?.Invoke(c));
    }

    /// <summary>Adds the stream provider <paramref name="name"/> to a client (same name and options as on the silos).</summary>
    public static IClientBuilder AddOrleansMQStreams(this IClientBuilder builder, string name, Action<OrleansMQStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddOptions(builder.Services, name, configure);
        return builder.AddPersistentStreams(name, OrleansMQQueueAdapterFactory.Create, _ => { });
    }

    private static void AddOptions(IServiceCollection services, string name, Action<OrleansMQStreamOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = services.AddOptions<OrleansMQStreamOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansMQStreamOptions>, OrleansMQStreamOptionsValidator>());
    }
}
