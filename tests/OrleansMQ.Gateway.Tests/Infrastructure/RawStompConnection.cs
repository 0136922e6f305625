using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// A bare TCP connection to the STOMP port that writes exact bytes (malformed frames, silence instead of heart-beats)
/// and reads server frames with its own minimal reader, independent of the gateway's parser.
/// </summary>
internal sealed class RawStompConnection : IAsyncDisposable
{
    private readonly TcpClient _client = new(AddressFamily.InterNetwork);
    private Stream _stream = null!;
    private readonly List<byte> _buffer = [];

    public static async Task<RawStompConnection> OpenAsync(int port)
    {
        var connection = new RawStompConnection();
        await connection._client.ConnectAsync(IPAddress.Loopback, port);
        connection._stream = connection._client.GetStream();
        return connection;
    }

    /// <summary>STOMP over TLS: the server certificate is accepted only if <paramref name="validate"/> says so.</summary>
    public static async Task<RawStompConnection> OpenTlsAsync(int port, Func<System.Security.Cryptography.X509Certificates.X509Certificate?, bool> validate)
    {
        var connection = new RawStompConnection();
        await connection._client.ConnectAsync(IPAddress.Loopback, port);
        var tls = new System.Net.Security.SslStream(connection._client.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) => validate(certificate));
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        connection._stream = tls;
        return connection;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>CONNECT (1.2) with a heart-beat header; returns the CONNECTED frame.</summary>
    public async Task<RawFrame> ConnectAsync(string heartBeat = "0,0")
    {
        await SendAsync($"CONNECT\naccept-version:1.2\nhost:omq\nheart-beat:{heartBeat}\n\n\0");
        var connected = await ReadFrameAsync();
        Assert.True(connected?.Command == "CONNECTED", $"expected CONNECTED, got {connected}");
        return connected!;
    }

    /// <summary>CONNECT (1.2) with extra header lines (e.g. <c>passcode:...</c>); returns the server's answer (CONNECTED or ERROR), or null if it closed.</summary>
    public async Task<RawFrame?> TryConnectAsync(params string[] headers)
    {
        var extra = string.Concat(headers.Select(h => h + "\n"));
        await SendAsync($"CONNECT\naccept-version:1.2\nhost:omq\nheart-beat:0,0\n{extra}\n\0");
        return await ReadFrameAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>The next frame (heart-beat EOLs skipped), or null when the server closed the connection.</summary>
    public async Task<RawFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            while (_buffer.Count > 0 && _buffer[0] is (byte)'\n' or (byte)'\r')
            {
                _buffer.RemoveAt(0);
            }

            if (TryParse(out var frame))
            {
                return frame;
            }

            var chunk = new byte[64 * 1024];
            int read;
            try
            {
                read = await _stream.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                return null;
            }

            if (read == 0)
            {
                return null;
            }

            _buffer.AddRange(chunk.AsSpan(0, read));
        }
    }

    /// <summary>Reads until the server closes; returns the frames it sent before that and whether it closed within the timeout.</summary>
    public async Task<(List<RawFrame> Frames, bool Closed)> ReadUntilClosedAsync(TimeSpan timeout)
    {
        var frames = new List<RawFrame>();
        try
        {
            while (await ReadFrameAsync(timeout) is { } frame)
            {
                frames.Add(frame);
            }

            return (frames, true);
        }
        catch (OperationCanceledException)
        {
            return (frames, false);
        }
    }

    private bool TryParse(out RawFrame? frame)
    {
        frame = null;
        var bytes = _buffer.ToArray();
        var headerEnd = IndexOf(bytes, "\n\n"u8);
        if (headerEnd < 0)
        {
            return false;
        }

        var lines = Encoding.UTF8.GetString(bytes, 0, headerEnd).Split('\n');
        var headers = lines.Skip(1).Select(l => (Name: l[..l.IndexOf(':', StringComparison.Ordinal)], RawValue: l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..])).ToList();
        var bodyStart = headerEnd + 2;
        int bodyLength;
        var contentLength = headers.FirstOrDefault(h => h.Name == "content-length").RawValue;
        if (contentLength is not null)
        {
            bodyLength = int.Parse(contentLength, CultureInfo.InvariantCulture);
            if (bytes.Length < bodyStart + bodyLength + 1)
            {
                return false;
            }
        }
        else
        {
            bodyLength = Array.IndexOf(bytes, (byte)0, bodyStart) - bodyStart;
            if (bodyLength < 0)
            {
                return false;
            }
        }

        Assert.Equal(0, bytes[bodyStart + bodyLength]);
        frame = new RawFrame(lines[0], headers, bytes.AsSpan(bodyStart, bodyLength).ToArray());
        _buffer.RemoveRange(0, bodyStart + bodyLength + 1);
        return true;
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }

        _client.Dispose();
    }
}

/// <summary>A frame as the server sent it; header values are raw (still escaped).</summary>
internal sealed record RawFrame(string Command, List<(string Name, string RawValue)> Headers, byte[] Body)
{
    public string? this[string name] => Headers.FirstOrDefault(h => h.Name == name).RawValue;

    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string ToString() => $"{Command} [{string.Join(", ", Headers.Select(h => $"{h.Name}:{h.RawValue}"))}] {BodyText}";
}
