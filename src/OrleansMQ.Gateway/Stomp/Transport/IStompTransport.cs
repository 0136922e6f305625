using System.IO.Pipelines;

namespace OrleansMQ.Gateway.Stomp.Transport;

/// <summary>A byte stream a STOMP session runs over: TCP (a Kestrel connection) or a WebSocket.</summary>
internal interface IStompTransport
{
    /// <summary>Where the client is, for logs.</summary>
    string RemoteEndPoint { get; }

    /// <summary>"tcp" or "websocket", for logs.</summary>
    string Kind { get; }

    /// <summary>The bytes from the client.</summary>
    PipeReader Input { get; }

    /// <summary>Sends one frame (or a heart-beat) as one unit: a WebSocket message, or bytes on the TCP stream. Calls never overlap.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Flushes what was sent and closes the connection.</summary>
    ValueTask CloseAsync();
}
