using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Publishing;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Gateway.Stomp.Transport;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>Runs STOMP sessions over any transport with the gateway's shared client, producers, security services and options.</summary>
internal sealed class StompSessionFactory(
    IOrleansMQClient client,
    GatewayProducers producers,
    IGatewayAuthenticator authenticator,
    IGatewayAuthorizer authorizer,
    GatewayConnectionLimiter limiter,
    IOptions<OrleansMQGatewayOptions> options,
    ILoggerFactory loggers,
    TimeProvider? time = null)
{
    private readonly ILogger _logger = loggers.CreateLogger("OrleansMQ.Gateway.Stomp");

    public StompOptions Options => options.Value.Stomp;

    /// <summary>
    /// Runs a session. <paramref name="transportPrincipal"/> is who the transport already authenticated (a WebSocket
    /// upgrade's <c>HttpContext.User</c>); credentials in CONNECT take precedence over it.
    /// </summary>
    public Task RunAsync(IStompTransport transport, CancellationToken transportClosed, ClaimsPrincipal? transportPrincipal = null) =>
        new StompConnection(transport, client, producers, new StompSecurity(authenticator, authorizer, limiter, transportPrincipal, options.Value.Security.Jwt.ClockSkew),
            options.Value.Stomp, _logger, time ?? TimeProvider.System).RunAsync(transportClosed);
}
