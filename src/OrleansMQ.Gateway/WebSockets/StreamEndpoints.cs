using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Http;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.WebSockets;

/// <summary>
/// The plain WebSocket streaming consume protocol: <c>GET /topics/{topic}/subscriptions/{subscription}/stream</c> and
/// <c>GET /queues/{queue}/stream</c>, upgraded to a WebSocket of JSON text frames with credit-based flow control (see
/// README, "WebSocket streaming consume"). Query: <c>consumer</c> (consumer id, default <c>ws-{guid}</c>),
/// <c>encoding=base64</c> (bodies always base64). Errors before the upgrade are problem details; after it, error frames.
/// </summary>
internal static class StreamEndpoints
{
    public static void Map(RouteGroupBuilder topics, RouteGroupBuilder queues)
    {
        topics.MapGet("/{topic}/subscriptions/{subscription}/stream", StreamAsync).Requires(GatewayAction.Consume, GatewayResourceKind.Topic).WithName("Stream")
            .WithSummary("WebSocket upgrade: a streaming consume session with credit-based flow control (JSON text frames).")
            .WithDescription(ProtocolDescription)
            .Produces(StatusCodes.Status101SwitchingProtocols).ProducesGatewayProblems();
        queues.MapGet("/{queue}/stream", (string queue, string? consumer, string? encoding, HttpContext context, StreamSessionFactory sessions, GatewayConnectionLimiter limiter, IGatewayAuthorizer authorizer) =>
                StreamAsync(queue, IOrleansMQAdmin.QueueSubscription, consumer, encoding, context, sessions, limiter, authorizer))
            .Requires(GatewayAction.Consume, GatewayResourceKind.Queue)
            .WithName("StreamQueue")
            .WithSummary("WebSocket upgrade: a streaming consume session of a queue with credit-based flow control (JSON text frames).")
            .WithDescription(ProtocolDescription)
            .Produces(StatusCodes.Status101SwitchingProtocols).ProducesGatewayProblems();
    }

    /// <summary>The protocol in brief, for the OpenAPI document.</summary>
    internal const string ProtocolDescription =
        "Client → server: {\"type\":\"credit\",\"n\":N} lets the server send N more messages; {\"type\":\"ack\",\"id\":ID}; " +
        "{\"type\":\"nack\",\"id\":ID,\"delayMs\":D,\"reason\":R} (redelivered after the subscription's backoff, held D ms first; D ≤ ack timeout); " +
        "{\"type\":\"ping\"} → {\"type\":\"pong\",\"credit\":unspent,\"inFlight\":unacked}. " +
        "Server → client: {\"type\":\"message\",\"id\",\"topic\",\"partition\",\"offset\",\"deliveryCount\",\"redelivered\",\"key\",\"messageId\",\"contentType\",\"timestamp\",\"headers\",\"text\"|\"base64\"}, " +
        "sent only while the session has credit (each message spends one; acks do not add credit); " +
        "{\"type\":\"error\",\"code\":ErrorCode,\"message\",\"fatal\":true} then close (1008 for client mistakes), or fatal:false with the id of an ack/nack the broker refused. " +
        "Closing the WebSocket releases every unacked delivery to the other consumers at once.";

    private static async Task StreamAsync(string topic, string subscription, string? consumer, string? encoding, HttpContext context, StreamSessionFactory sessions,
        GatewayConnectionLimiter limiter, IGatewayAuthorizer authorizer)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        var forceBase64 = encoding switch
        {
            null or "auto" => false,
            "base64" => true,
            _ => throw new OrleansMQException(ErrorCode.InvalidArgument, $"encoding '{encoding}' must be auto or base64."),
        };
        var consumerId = ConsumeEndpoints.ConsumerId(context, consumer) ?? "ws-" + Guid.NewGuid().ToString("N");
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Open {context.Request.Path} as a WebSocket (GET with Upgrade: websocket).");
        }

        // Like a STOMP connection with one subscription: a session and a subscription slot of the principal, taken before
        // the upgrade (so a full limit is a 429 problem), released when the session ends.
        var principal = authorizer.PrincipalName(context.User);
        using var connectionSlot = limiter.OpenConnection(principal);
        using var subscriptionSlot = limiter.OpenSubscription(principal);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        StreamSession session;
        try
        {
            session = await sessions.OpenAsync(socket, topic, subscription, consumerId, forceBase64, context.User, context.RequestAborted);
        }
        catch (OrleansMQException ex)
        {
            await RefuseAsync(socket, ex);
            return;
        }

        await session.RunAsync(context.RequestAborted);
    }

    /// <summary>The session could not start (no such subscription, ...): an error frame, then close.</summary>
    private static async Task RefuseAsync(WebSocket socket, OrleansMQException error)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.SendAsync(StreamServerFrames.Error(error.Code, error.Message, fatal: true), WebSocketMessageType.Text, true, timeout.Token);
            await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, error.Code.ToString(), timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
    }
}
