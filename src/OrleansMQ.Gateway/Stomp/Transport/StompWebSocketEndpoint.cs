using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Gateway.Stomp.Transport;

/// <summary>STOMP over WebSocket at <c>/stomp</c>: accepts the upgrade with subprotocol <c>v12.stomp</c> and runs a session.</summary>
internal static class StompWebSocketEndpoint
{
    /// <summary>The WebSocket subprotocol of STOMP 1.2.</summary>
    public const string SubProtocol = "v12.stomp";

    public static async Task HandleAsync(HttpContext context, StompSessionFactory sessions)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "WebSocket required",
                detail: $"Open /stomp as a WebSocket with subprotocol {SubProtocol}.").ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol, StringComparer.OrdinalIgnoreCase))
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unsupported WebSocket subprotocol",
                detail: $"Request the subprotocol {SubProtocol} (Sec-WebSocket-Protocol).").ExecuteAsync(context);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(SubProtocol);
        var remote = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        var transport = new WebSocketStompTransport(socket, remote, (long)sessions.Options.MaxFrameBytes * 2);
        await sessions.RunAsync(transport, context.RequestAborted, context.User);
    }
}
