using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text.Unicode;

namespace OrleansMQ.Gateway.Stomp.Transport;

/// <summary>
/// STOMP over a WebSocket (subprotocol <c>v12.stomp</c>). Incoming messages are copied into a pipe, so frames may span
/// messages or share one; each outgoing frame is one message (text when it is valid UTF-8, binary otherwise).
/// </summary>
internal sealed class WebSocketStompTransport : IStompTransport
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);
    private readonly WebSocket _socket;
    private readonly Pipe _input;
    private readonly Task _pump;

    public WebSocketStompTransport(WebSocket socket, string remoteEndPoint, long maxBufferedBytes)
    {
        _socket = socket;
        RemoteEndPoint = remoteEndPoint;
        // The parser only consumes whole frames, so the pipe must hold the largest allowed frame without pausing the writer.
        _input = new Pipe(new PipeOptions(pauseWriterThreshold: maxBufferedBytes, resumeWriterThreshold: maxBufferedBytes / 2, useSynchronizationContext: false));
        _pump = PumpAsync();
    }

    public string RemoteEndPoint { get; }

    public string Kind => "websocket";

    public PipeReader Input => _input.Reader;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var type = Utf8.IsValid(data.Span) ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        await _socket.SendAsync(data, type, endOfMessage: true, cancellationToken);
    }

    public async ValueTask CloseAsync()
    {
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseTimeout);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }

            // The close handshake: the client's close frame ends the pump. Aborting before it would drop the last
            // frames sent (an ERROR, a RECEIPT) that are still on their way out.
            await _pump.WaitAsync(CloseTimeout);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or TimeoutException)
        {
            // The client is gone or does not answer the close.
        }
        finally
        {
            if (!_pump.IsCompleted)
            {
                _socket.Abort();
                await _pump;
            }

            await _input.Reader.CompleteAsync();
        }
    }

    private async Task PumpAsync()
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                var memory = _input.Writer.GetMemory(16 * 1024);
                var result = await _socket.ReceiveAsync(memory, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                _input.Writer.Advance(result.Count);
                var flush = await _input.Writer.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A dropped WebSocket ends the input like a closed TCP connection: the session sees end of stream.
        }

        await _input.Writer.CompleteAsync();
    }
}
