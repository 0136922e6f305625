using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace OrleansMQ.Gateway.Stomp.Transport;

/// <summary>STOMP over a raw TCP connection accepted by Kestrel.</summary>
internal sealed class PipeStompTransport(ConnectionContext connection) : IStompTransport
{
    public string RemoteEndPoint => connection.RemoteEndPoint?.ToString() ?? connection.ConnectionId;

    public string Kind => "tcp";

    public PipeReader Input => connection.Transport.Input;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var result = await connection.Transport.Output.WriteAsync(data, cancellationToken);
        if (result.IsCompleted)
        {
            throw new ConnectionResetException("The client closed the connection.");
        }
    }

    public async ValueTask CloseAsync()
    {
        await connection.Transport.Output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
    }
}
