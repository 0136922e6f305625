using Microsoft.AspNetCore.Connections;

namespace OrleansMQ.Gateway.Stomp.Transport;

/// <summary>STOMP over TCP: Kestrel hands every connection on the STOMP port to this handler.</summary>
internal sealed class StompTcpConnectionHandler(StompSessionFactory sessions) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) =>
        sessions.RunAsync(new PipeStompTransport(connection), connection.ConnectionClosed);
}
