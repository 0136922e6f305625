using System.Net;
using System.Net.Sockets;

namespace OrleansMQ.Testing.Processes;

/// <summary>Free TCP ports on 127.0.0.1, found by letting the OS pick (bind to port 0).</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// Returns <paramref name="count"/> distinct ports that were free a moment ago. All listeners stay open until every
    /// port is picked, so the OS cannot hand out the same port twice.
    /// </summary>
    public static int[] Reserve(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/> (1 s connect timeout).</summary>
    public static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
