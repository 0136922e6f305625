using System.Net.WebSockets;
using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.WebSockets;

/// <summary>Opens WebSocket stream sessions with the gateway's shared client, grain factory and options.</summary>
internal sealed class StreamSessionFactory(
    IOrleansMQClient client,
    IGrainFactory grains,
    IOptions<OrleansMQGatewayOptions> options,
    ILoggerFactory loggers,
    TimeProvider? time = null)
{
    private readonly ILogger _logger = loggers.CreateLogger("OrleansMQ.Gateway.WebSockets");

    public WebSocketStreamOptions Options => options.Value.WebSocketStream;

    /// <summary>
    /// Finds the subscription (NotFound when the topic or subscription does not exist) and returns a session ready to
    /// run on <paramref name="socket"/>; a session of a bearer token's <paramref name="principal"/> ends when the token expires.
    /// </summary>
    public async Task<StreamSession> OpenAsync(WebSocket socket, string topic, string subscription, string consumerId, bool forceBase64, ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        var info = await client.Admin.GetTopicAsync(topic, cancellationToken);
        if (!info.Subscriptions.TryGetValue(subscription, out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        return new StreamSession(socket, grains, topic, subscription, info.Spec.Partitions, spec, consumerId, forceBase64,
            options.Value.WebSocketStream, _logger, time ?? TimeProvider.System)
        {
            ExpiresAt = TokenExpiry.Of(principal, options.Value.Security.Jwt.ClockSkew),
        };
    }
}
