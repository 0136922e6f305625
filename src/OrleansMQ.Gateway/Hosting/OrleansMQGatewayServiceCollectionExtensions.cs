using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansMQ.Gateway;
using OrleansMQ.Gateway.Http.Pull;
using OrleansMQ.Gateway.Publishing;
using OrleansMQ.Gateway.Stomp;
using OrleansMQ.Gateway.Stomp.Transport;
using OrleansMQ.Gateway.WebSockets;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OrleansMQ gateway (HTTP REST + STOMP 1.2) in an ASP.NET Core app that hosts an Orleans silo or client.</summary>
public static class OrleansMQGatewayServiceCollectionExtensions
{
    /// <summary>Adds the gateway with options bound from <paramref name="configuration"/> (the <c>Gateway</c> section).</summary>
    public static IServiceCollection AddOrleansMQGateway(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOrleansMQGateway();
        services.AddOptions<OrleansMQGatewayOptions>().Bind(configuration);
        return services;
    }

    /// <summary>
    /// Adds the gateway: its services, the OrleansMQ client it publishes and consumes through (on the registered
    /// <see cref="IGrainFactory"/>), an OpenAPI document, and Kestrel endpoints on <see cref="OrleansMQGatewayOptions.BindAddress"/>
    /// for HTTP (<see cref="OrleansMQGatewayOptions.HttpPort"/>) and STOMP over TCP (<see cref="OrleansMQGatewayOptions.StompPort"/>).
    /// Map the HTTP and WebSocket endpoints with <c>app.MapOrleansMQGateway()</c>. Idempotent.
    /// </summary>
    public static IServiceCollection AddOrleansMQGateway(this IServiceCollection services, Action<OrleansMQGatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<OrleansMQGatewayOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(s => s.ServiceType == typeof(GatewayProducers)))
        {
            return services;
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansMQGatewayOptions>, OrleansMQGatewayOptionsValidator>());
        services.AddOrleansMQClient();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayProducers>();
        services.AddSingleton<StompSessionFactory>();
        services.AddSingleton<StompTcpConnectionHandler>();
        services.AddSingleton<PullSessions>();
        services.AddSingleton<StreamSessionFactory>();
        services.AddHostedService(sp => sp.GetRequiredService<PullSessions>());

        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new Microsoft.OpenApi.OpenApiInfo
            {
                Title = "OrleansMQ gateway",
                Version = "v1",
                Description = "Publish, pull-consume (receive + ack/nack by delivery id), WebSocket streaming consume with credit (GET …/stream, see the Stream operation), topic/queue/subscription/exchange admin, dead-letter browse and re-drive. Errors are RFC 7807 problem details whose 'code' is the OrleansMQ ErrorCode.",
            };
            return Task.CompletedTask;
        }));
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        // Unreadable or oversized bodies reach GatewayErrorMiddleware, which answers with problem details.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<OrleansMQGatewayOptions>>((kestrel, gateway) =>
        {
            var settings = gateway.Value;
            kestrel.Limits.MaxRequestBodySize = settings.MaxHttpBodyBytes;
            if (settings.HttpPort > 0)
            {
                kestrel.Listen(settings.ParsedBindAddress, settings.HttpPort);
            }

            if (settings.StompPort > 0)
            {
                kestrel.Listen(settings.ParsedBindAddress, settings.StompPort, listen => listen.UseConnectionHandler<StompTcpConnectionHandler>());
            }
        });
        // A frame is parsed only once it is complete, so a connection's input buffer must hold the largest one.
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<OrleansMQGatewayOptions>>((socket, gateway) =>
            socket.MaxReadBufferSize = Math.Max(socket.MaxReadBufferSize ?? 0, 2L * gateway.Value.Stomp.MaxFrameBytes));
        return services;
    }
}
