using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OrleansMQ.Client.Security;
using OrleansMQ.Gateway;
using OrleansMQ.Gateway.Http.Pull;
using OrleansMQ.Gateway.Publishing;
using OrleansMQ.Gateway.Security;
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
        AddSecurity(services);
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
            // A misspelt field ("parititons") is an error naming it, not a silently applied default.
            json.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        // Unreadable or oversized bodies reach GatewayErrorMiddleware, which answers with problem details.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<OrleansMQGatewayOptions>>((kestrel, gateway) =>
        {
            var settings = gateway.Value;
            kestrel.Limits.MaxRequestBodySize = settings.MaxHttpBodyBytes;
            // Slow clients (slowloris): headers must arrive in time, bodies at a minimum rate, idle connections close.
            kestrel.Limits.RequestHeadersTimeout = settings.Limits.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = settings.Limits.KeepAliveTimeout;
            kestrel.Limits.MinRequestBodyDataRate = settings.Limits.MinRequestBodyBytesPerSecond > 0
                ? new MinDataRate(settings.Limits.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
                : null;
            var certificate = settings.Tls.Enabled
                ? CertificateFiles.Load(settings.Tls.CertificatePath!, settings.Tls.CertificatePassword, settings.Tls.KeyPath)
                : null;
            if (settings.HttpPort > 0)
            {
                kestrel.Listen(settings.ParsedBindAddress, settings.HttpPort, listen =>
                {
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }
                });
            }

            if (settings.StompPort > 0)
            {
                kestrel.Listen(settings.ParsedBindAddress, settings.StompPort, listen =>
                {
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }

                    listen.UseConnectionHandler<StompTcpConnectionHandler>();
                });
            }
        });
        // A frame is parsed only once it is complete, so a connection's input buffer must hold the largest one.
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<OrleansMQGatewayOptions>>((socket, gateway) =>
            socket.MaxReadBufferSize = Math.Max(socket.MaxReadBufferSize ?? 0, 2L * gateway.Value.Stomp.MaxFrameBytes));
        return services;
    }

    /// <summary>API keys and JWT bearer tokens (one policy scheme picks per request), access rules and limits.</summary>
    private static void AddSecurity(IServiceCollection services)
    {
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<IGatewayAuthorizer, GatewayAuthorizer>();
        services.AddSingleton<IGatewayAuthenticator, GatewayCredentialAuthenticator>();
        services.AddSingleton<GatewayConnectionLimiter>();
        services.AddAuthentication(GatewayAuthentication.Scheme)
            .AddPolicyScheme(GatewayAuthentication.Scheme, null, o => o.ForwardDefaultSelector = GatewayAuthentication.SelectScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(GatewayAuthentication.ApiKeyScheme, null)
            .AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<OrleansMQGatewayOptions>>((bearer, gateway) =>
        {
            var jwt = gateway.Value.Security.Jwt;
            bearer.MapInboundClaims = false;
            bearer.Authority = string.IsNullOrEmpty(jwt.Authority) ? null : jwt.Authority;
            bearer.Audience = jwt.Audience;
            bearer.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = !string.IsNullOrEmpty(jwt.Issuer) || !string.IsNullOrEmpty(jwt.Authority),
                ValidIssuer = jwt.Issuer,
                ValidateAudience = !string.IsNullOrEmpty(jwt.Audience),
                ValidAudience = jwt.Audience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                ClockSkew = jwt.ClockSkew,
                NameClaimType = jwt.NameClaim,
                RoleClaimType = jwt.RoleClaim,
                IssuerSigningKey = string.IsNullOrEmpty(jwt.SigningKey) ? null : new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(jwt.SigningKey)),
            };
            bearer.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: its upgrade may carry the token as ?access_token=.
                OnMessageReceived = context =>
                {
                    if (string.IsNullOrEmpty(context.Token) && GatewayAuthentication.WebSocketQueryToken(context.HttpContext) is { } token)
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
            };
        });
    }
}
