using System.Net;
using System.Net.Sockets;

namespace OrleansMQ.Testing.Processes;

/// <summary>Free TCP ports on 127.0.0.1 for child processes to listen on.</summary>
public static class LoopbackPorts
{
    // Below Linux's ephemeral range (32768–60999 by default): a port the OS picks for port 0 comes from that range, and so
    // does the local port of every outgoing connection, so between our check and the child's bind an outgoing
    // connection could take it (seen once: a joining silo failed with "Address already in use"). Ports from here are
    // never handed out to outgoing connections.
    private const int FirstPort = 20000;
    private const int LastPort = 32767;

    /// <summary>
    /// Returns <paramref name="count"/> distinct ports that were free a moment ago, from 20000–32767 (starting at a random
    /// one, so concurrent test processes rarely try the same), or from the OS (port 0) when that range is full. All
    /// listeners stay open until every port is picked, so no port is returned twice.
    /// </summary>
    public static int[] Reserve(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            var span = LastPort - FirstPort + 1;
            var start = Random.Shared.Next(span);
            for (var i = 0; i < span && listeners.Count < count; i++)
            {
                TryListen(FirstPort + (start + i) % span, listeners);
            }

            while (listeners.Count < count)
            {
                TryListen(0, listeners);
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

    /// <summary>
    /// Returns the first of <paramref name="count"/> consecutive ports that were all free a moment ago, from 20000–32767
    /// (for a test cluster that numbers its silos' ports from a base), starting at a random one like <see cref="Reserve"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No run of <paramref name="count"/> free ports was found.</exception>
    public static int ReserveConsecutive(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var span = LastPort - FirstPort + 2 - count;
        var start = Random.Shared.Next(span);
        for (var i = 0; i < span; i += count)
        {
            var first = FirstPort + (start + i) % span;
            var listeners = new List<TcpListener>(count);
            try
            {
                for (var port = first; port < first + count && TryListen(port, listeners); port++)
                {
                }

                if (listeners.Count == count)
                {
                    return first;
                }
            }
            finally
            {
                foreach (var listener in listeners)
                {
                    listener.Stop();
                }
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports between {FirstPort} and {LastPort} on 127.0.0.1.");
    }

    private static bool TryListen(int port, List<TcpListener> listeners)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            listeners.Add(listener);
            return true;
        }
        catch (SocketException) when (port != 0)
        {
            listener.Stop(); // taken: try the next one
            return false;
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
