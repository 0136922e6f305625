using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace OrleansMQ.Benchmarks.Gateway;

/// <summary>A STOMP frame as received: command, headers (first occurrence wins, values unescaped) and body.</summary>
internal sealed record StompFrame(string Command, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? this[string header] => Headers.GetValueOrDefault(header);
}

/// <summary>
/// A minimal STOMP 1.2 client over a raw TCP socket, written for the benchmark (no STOMP library involved): CONNECT
/// without heart-beats, frames written by one writer loop (everything queued goes out before a flush, so pipelined
/// frames share TCP segments), and a reader loop handing each received frame to <c>onFrame</c>. Bodies carry
/// <c>content-length</c> (binary-safe).
/// </summary>
internal sealed class StompClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private Task _writer = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;

    private StompClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects, sends CONNECT and waits for CONNECTED; then starts reading frames into <paramref name="onFrame"/>.</summary>
    public static async Task<StompClient> ConnectAsync(int port, Action<StompFrame> onFrame, Action<Exception> onFailure, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port, cancellationToken);
        var client = new StompClient(tcp);
        await client._stream.WriteAsync(Encoding.UTF8.GetBytes("CONNECT\naccept-version:1.2\nhost:127.0.0.1\nheart-beat:0,0\n\n\0"), cancellationToken);
        var connected = await client.ReadFrameAsync(cancellationToken);
        if (connected?.Command != "CONNECTED")
        {
            tcp.Dispose();
            throw new IOException($"STOMP CONNECT answered {connected?.Command ?? "nothing"}: {connected?["message"]}");
        }

        client._writer = Task.Run(client.WriteLoopAsync, CancellationToken.None);
        client._reader = Task.Run(async () =>
        {
            try
            {
                while (await client.ReadFrameAsync(CancellationToken.None) is { } frame)
                {
                    onFrame(frame);
                }

                onFailure(new IOException("The STOMP server closed the connection."));
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidDataException)
            {
                onFailure(ex);
            }
        }, CancellationToken.None);
        return client;
    }

    /// <summary>Queues a frame (headers given as name/value pairs, values escaped here); never blocks.</summary>
    public void Send(string command, ReadOnlySpan<(string Name, string Value)> headers, ReadOnlySpan<byte> body = default)
    {
        var text = new StringBuilder(command).Append('\n');
        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(':').Append(Escape(value)).Append('\n');
        }

        if (!body.IsEmpty)
        {
            text.Append("content-length:").Append(body.Length).Append('\n');
        }

        text.Append('\n');
        var head = Encoding.UTF8.GetBytes(text.ToString());
        var frame = new byte[head.Length + body.Length + 1];
        head.CopyTo(frame, 0);
        body.CopyTo(frame.AsSpan(head.Length));
        _outgoing.Writer.TryWrite(frame);
    }

    public async ValueTask DisposeAsync()
    {
        _outgoing.Writer.TryComplete();
        await _writer;
        try
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes("DISCONNECT\n\n\0"));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }

        _tcp.Dispose();
        await _reader;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync())
            {
                while (_outgoing.Reader.TryRead(out var frame))
                {
                    await _stream.WriteAsync(frame);
                }

                await _stream.FlushAsync();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The reader reports the broken connection.
        }
    }

    private async Task<StompFrame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        string? command;
        do
        {
            // EOLs between frames (heart-beats) are skipped.
            command = await ReadLineAsync(cancellationToken);
            if (command is null)
            {
                return null;
            }
        }
        while (command.Length == 0);

        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await ReadLineAsync(cancellationToken) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new InvalidDataException($"STOMP header line without ':': {line}");
            }

            headers.TryAdd(line[..colon], command is "CONNECTED" ? line[(colon + 1)..] : Unescape(line[(colon + 1)..]));
        }

        byte[] body;
        if (headers.TryGetValue("content-length", out var lengthText))
        {
            var length = int.Parse(lengthText, System.Globalization.CultureInfo.InvariantCulture);
            body = new byte[length];
            for (var read = 0; read < length;)
            {
                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }

                var n = Math.Min(length - read, _end - _start);
                _buffer.AsSpan(_start, n).CopyTo(body.AsSpan(read));
                _start += n;
                read += n;
            }

            if (!await FillAsync(cancellationToken) || _buffer[_start++] != 0)
            {
                throw new InvalidDataException("STOMP frame body not followed by NULL.");
            }
        }
        else
        {
            var bytes = new List<byte>();
            while (true)
            {
                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }

                var nul = Array.IndexOf(_buffer, (byte)0, _start, _end - _start);
                var upTo = nul < 0 ? _end : nul;
                bytes.AddRange(_buffer.AsSpan(_start, upTo - _start));
                _start = nul < 0 ? _end : nul + 1;
                if (nul >= 0)
                {
                    break;
                }
            }

            body = [.. bytes];
        }

        return new StompFrame(command, headers, body);
    }

    /// <summary>Makes at least one unread byte available; false at end of stream.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start < _end)
        {
            return true;
        }

        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        return _end > 0;
    }

    private async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (!await FillAsync(cancellationToken))
            {
                return null;
            }

            var eol = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var upTo = eol < 0 ? _end : eol;
            line.AddRange(_buffer.AsSpan(_start, upTo - _start));
            _start = eol < 0 ? _end : eol + 1;
            if (eol >= 0)
            {
                if (line.Count > 0 && line[^1] == '\r')
                {
                    line.RemoveAt(line.Count - 1);
                }

                return Encoding.UTF8.GetString([.. line]);
            }
        }
    }

    private static string Escape(string value) =>
        value.Contains('\\') || value.Contains(':') || value.Contains('\n') || value.Contains('\r')
            ? value.Replace("\\", "\\\\").Replace("\r", "\\r").Replace("\n", "\\n").Replace(":", "\\c")
            : value;

    private static string Unescape(string value)
    {
        if (!value.Contains('\\'))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '\\' || i + 1 >= value.Length)
            {
                text.Append(value[i]);
                continue;
            }

            text.Append(value[++i] switch
            {
                'r' => '\r',
                'n' => '\n',
                'c' => ':',
                '\\' => '\\',
                var other => throw new InvalidDataException($"Undefined STOMP escape \\{other}."),
            });
        }

        return text.ToString();
    }
}
