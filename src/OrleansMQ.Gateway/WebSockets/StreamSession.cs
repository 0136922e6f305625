using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OrleansMQ.Gateway.Http;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Grains;

namespace OrleansMQ.Gateway.WebSockets;

/// <summary>
/// One WebSocket stream consumer of one subscription: a long-poll loop per partition that asks the subscription grain
/// for no more messages than the credit it reserved (so nothing is leased beyond what the client granted), one writer
/// that sends message frames, and the receive loop that applies credit, ack, nack and ping frames. Acks and nacks go
/// to the same subscription grains as the .NET client's; on close every unacked delivery is released at once
/// (<see cref="ISubscriptionGrain.CloseConsumerAsync"/>), so other consumers get it without waiting for the ack timeout.
/// </summary>
internal sealed partial class StreamSession
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);
    private readonly WebSocket _socket;
    private readonly IGrainFactory _grains;
    private readonly WebSocketStreamOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _topic;
    private readonly string _subscription;
    private readonly string _consumerId;
    private readonly SubscriptionSpec _spec;
    private readonly bool _forceBase64;
    private readonly ISubscriptionGrain[] _partitions;
    private readonly StreamCredit _credit;
    private readonly Channel<DeliveredMessage> _outbox = Channel.CreateUnbounded<DeliveredMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<DeliveryId, DeliveredMessage> _inFlight = new();
    private readonly Channel<DeliveryTag>[] _acks;
    private readonly ConcurrentDictionary<Task, byte> _settling = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _closeDeadline = new();
    private int _failed;

    public StreamSession(WebSocket socket, IGrainFactory grains, string topic, string subscription, int partitions, SubscriptionSpec spec,
        string consumerId, bool forceBase64, WebSocketStreamOptions options, ILogger logger, TimeProvider time)
    {
        _socket = socket;
        _grains = grains;
        _topic = topic;
        _subscription = subscription;
        _spec = spec;
        _consumerId = consumerId;
        _forceBase64 = forceBase64;
        _options = options;
        _logger = logger;
        _time = time;
        _partitions = [.. Enumerable.Range(0, partitions).Select(p => grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, p, subscription)))];
        _credit = new StreamCredit(partitions, options.MaxCredit, options.MaxBatch);
        _acks = [.. Enumerable.Range(0, partitions).Select(_ => Channel.CreateUnbounded<DeliveryTag>(new UnboundedChannelOptions { SingleReader = true }))];
    }

    /// <summary>When the session's bearer token expires (the session then ends with an Unauthorized error frame), or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Runs until the client closes, a fatal error closes the session, or <paramref name="aborted"/> fires.</summary>
    public async Task RunAsync(CancellationToken aborted)
    {
        LogOpened(_logger, _topic, _subscription, _consumerId);
        var readers = _partitions.Select((grain, p) => ReadPartitionAsync(grain, p)).ToArray();
        var writer = WriteDeliveriesAsync();
        var ackers = _partitions.Select((grain, p) => SendAcksAsync(grain, p)).ToArray();
        var tokenWatch = ExpiresAt is { } expiresAt ? WatchTokenAsync(expiresAt) : Task.CompletedTask;
        try
        {
            await ReceiveFramesAsync(aborted);
        }
        finally
        {
            await _stop.CancelAsync();
            await tokenWatch;
            _outbox.Writer.TryComplete();
            await Task.WhenAll(readers);
            await writer;
            // Acks the client sent before it left must reach the broker before the close releases the rest.
            foreach (var acks in _acks)
            {
                acks.Writer.TryComplete();
            }

            await Task.WhenAll(ackers);
            await Task.WhenAll(_settling.Keys);
            await Task.WhenAll(_partitions.Select(CloseConsumerAsync));
            if (!_inFlight.IsEmpty)
            {
                LogReleased(_logger, _topic, _subscription, _consumerId, _inFlight.Count);
            }

            if (_socket.State is not (WebSocketState.Closed or WebSocketState.Aborted))
            {
                _socket.Abort();
            }

            _stop.Dispose();
            _closeDeadline.Dispose();
            _sending.Dispose();
        }
    }

    // ---- client frames ----------------------------------------------------------------------------------------------

    private async Task ReceiveFramesAsync(CancellationToken aborted)
    {
        // Cancelling a WebSocket receive aborts the socket: that is what both tokens are for (server stopping; a client
        // that does not answer our close in time).
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(aborted, _closeDeadline.Token);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_options.MaxFrameBytes, 16 * 1024) + 1);
        var frame = new ArrayBufferWriter<byte>(1024);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), receiving.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, receiving.Token);
                    }

                    return;
                }

                if (Volatile.Read(ref _failed) != 0)
                {
                    // Closing after an error: anything the client still sends is ignored.
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    await FailAsync(new OrleansMQException(ErrorCode.InvalidArgument, "frames are JSON text messages, not binary."));
                    continue;
                }

                if (frame.WrittenCount + result.Count > _options.MaxFrameBytes)
                {
                    await FailAsync(new OrleansMQException(ErrorCode.MessageTooLarge, $"a frame is at most {_options.MaxFrameBytes} bytes."));
                    continue;
                }

                frame.Write(buffer.AsSpan(0, result.Count));
                if (!result.EndOfMessage)
                {
                    continue;
                }

                try
                {
                    await ApplyAsync(StreamClientFrame.Parse(frame.WrittenMemory, _spec.AckTimeout));
                }
                catch (OrleansMQException ex)
                {
                    await FailAsync(ex);
                }

                frame.ResetWrittenCount();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, the server is stopping, or the client did not answer our close.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ApplyAsync(StreamClientFrame frame)
    {
        switch (frame.Type)
        {
            case StreamClientFrameType.Credit:
                _credit.Grant(frame.Credit);
                break;
            case StreamClientFrameType.Ping:
                await SendAsync(StreamServerFrames.Pong(_credit.Unspent, _inFlight.Count));
                break;
            case StreamClientFrameType.Ack or StreamClientFrameType.Nack:
                if (!_inFlight.TryRemove(frame.Id, out var delivery))
                {
                    throw new OrleansMQException(ErrorCode.UnknownDelivery,
                        $"delivery '{frame.Id}' is not in flight on this session (never sent, or already acked/nacked).");
                }

                if (frame.Type == StreamClientFrameType.Ack)
                {
                    _acks[frame.Id.Partition].Writer.TryWrite(delivery.Tag);
                }
                else
                {
                    Track(NackAsync(frame, delivery));
                }

                break;
        }
    }

    /// <summary>
    /// Sends a partition's acks in batches (whatever queued up while the previous call was out, up to 1000): one grain
    /// call per ack would cap a stream at the grain-call rate. When a batch is refused, acks one at a time to report
    /// exactly which deliveries failed.
    /// </summary>
    private async Task SendAcksAsync(ISubscriptionGrain grain, int partition)
    {
        var reader = _acks[partition].Reader;
        while (await reader.WaitToReadAsync())
        {
            var batch = new List<DeliveryTag>();
            while (batch.Count < 1000 && reader.TryRead(out var tag))
            {
                batch.Add(tag);
            }

            try
            {
                await grain.AckAsync(_consumerId, batch);
                continue;
            }
            catch (Exception ex) when (batch.Count == 1)
            {
                await ReportAckFailureAsync(partition, batch[0], ex);
                continue;
            }
            catch (Exception)
            {
                // Acks are idempotent: find the refused ones below.
            }

            foreach (var tag in batch)
            {
                try
                {
                    await grain.AckAsync(_consumerId, [tag]);
                }
                catch (Exception ex)
                {
                    await ReportAckFailureAsync(partition, tag, ex);
                }
            }
        }
    }

    private Task ReportAckFailureAsync(int partition, DeliveryTag tag, Exception error)
    {
        var id = new DeliveryId(partition, tag.Offset, tag.Attempt).ToString();
        var (code, message) = error is OrleansMQException mq ? (mq.Code, mq.Message) : (ErrorCode.Internal, $"ack failed: {error.Message}");
        return TrySendAsync(StreamServerFrames.Error(code, message, fatal: false, id));
    }

    private async Task NackAsync(StreamClientFrame frame, DeliveredMessage delivery)
    {
        var grain = _partitions[frame.Id.Partition];
        try
        {
            if (frame.NackDelay > TimeSpan.Zero)
            {
                // Held (still leased to this consumer) for the delay, then nacked: the subscription's backoff comes on top.
                // If the session closes first, the close releases it at once instead.
                await Task.Delay(frame.NackDelay, _time, _stop.Token);
            }

            await grain.NackAsync(_consumerId, [delivery.Tag], frame.Reason ?? "nacked over WebSocket");
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (OrleansMQException ex)
        {
            // The lease ran out (or the subscription went away): tell the client, keep the session.
            await TrySendAsync(StreamServerFrames.Error(ex.Code, ex.Message, fatal: false, frame.Id.ToString()));
        }
    }

    private void Track(Task task)
    {
        _settling.TryAdd(task, 0);
        _ = task.ContinueWith(t => _settling.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // ---- deliveries -------------------------------------------------------------------------------------------------

    private async Task ReadPartitionAsync(ISubscriptionGrain grain, int partition)
    {
        await Task.Yield();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            int reserved;
            try
            {
                reserved = await _credit.ReserveAsync(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var spent = 0;
            try
            {
                var result = await grain.ReceiveAsync(_consumerId, reserved, _options.PollWait);
                spent = result.Messages.Count;
                if (token.IsCancellationRequested)
                {
                    // Answered after the session ended: the consumer close releases these leases.
                    return;
                }

                foreach (var message in result.Messages)
                {
                    _outbox.Writer.TryWrite(message);
                }
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                LogPollFailed(_logger, ex, _topic, partition, _subscription, _consumerId);
                await FailAsync(ex as OrleansMQException ?? new OrleansMQException(ErrorCode.Internal, $"Reading partition {partition} failed: {ex.Message}"));
                return;
            }
            catch (Exception)
            {
                return;
            }
            finally
            {
                _credit.Settle(reserved, spent);
            }
        }
    }

    private async Task WriteDeliveriesAsync()
    {
        await Task.Yield();
        await foreach (var delivery in _outbox.Reader.ReadAllAsync())
        {
            if (Volatile.Read(ref _failed) != 0)
            {
                continue;
            }

            _inFlight[DeliveryId.Of(delivery)] = delivery;
            if (!await TrySendAsync(StreamServerFrames.Message(delivery, _forceBase64)))
            {
                await _stop.CancelAsync();
            }
        }
    }

    /// <summary>Ends the session when its bearer token expires: an Unauthorized error frame, then a policy-violation close.</summary>
    private async Task WatchTokenAsync(DateTimeOffset expiresAt)
    {
        try
        {
            await TokenExpiry.WaitAsync(expiresAt, _time, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await FailAsync(TokenExpiry.Expired(expiresAt));
    }

    // ---- sending and closing ----------------------------------------------------------------------------------------

    /// <summary>Sends a fatal error frame and closes the WebSocket (policy violation for client mistakes); once per session.</summary>
    private async Task FailAsync(OrleansMQException error)
    {
        if (Interlocked.Exchange(ref _failed, 1) != 0)
        {
            return;
        }

        LogFailed(_logger, _topic, _subscription, _consumerId, error.Code, error.Message);
        await TrySendAsync(StreamServerFrames.Error(error.Code, error.Message, fatal: true));
        var status = error.Code is ErrorCode.InvalidArgument or ErrorCode.UnknownDelivery or ErrorCode.MessageTooLarge or ErrorCode.Unauthorized
            ? WebSocketCloseStatus.PolicyViolation
            : WebSocketCloseStatus.InternalServerError;
        await _sending.WaitAsync();
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseTimeout);
                await _socket.CloseOutputAsync(status, error.Code.ToString(), timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _sending.Release();
        }

        // Wait for the client's close frame, but not for ever.
        _closeDeadline.CancelAfter(CloseTimeout);
        await _stop.CancelAsync();
    }

    private async Task SendAsync(ReadOnlyMemory<byte> frame)
    {
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task<bool> TrySendAsync(ReadOnlyMemory<byte> frame)
    {
        try
        {
            await SendAsync(frame);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    private async Task CloseConsumerAsync(ISubscriptionGrain grain)
    {
        try
        {
            await grain.CloseConsumerAsync(_consumerId);
        }
        catch (Exception ex)
        {
            // The broker times the consumer out instead (after the subscription's consumer timeout).
            LogCloseFailed(_logger, ex, _topic, _subscription, _consumerId);
        }
    }

    [LoggerMessage(3301, LogLevel.Debug, "WebSocket stream opened: {Topic}/{Subscription} consumer {Consumer}")]
    private static partial void LogOpened(ILogger logger, string topic, string subscription, string consumer);

    [LoggerMessage(3302, LogLevel.Debug, "WebSocket stream {Topic}/{Subscription} consumer {Consumer} closed with {Count} deliveries unacked: released to other consumers")]
    private static partial void LogReleased(ILogger logger, string topic, string subscription, string consumer, int count);

    [LoggerMessage(3303, LogLevel.Information, "WebSocket stream {Topic}/{Subscription} consumer {Consumer} closed on error {Code}: {Message}")]
    private static partial void LogFailed(ILogger logger, string topic, string subscription, string consumer, ErrorCode code, string message);

    [LoggerMessage(3304, LogLevel.Warning, "WebSocket stream {Topic}/{Partition}/{Subscription} consumer {Consumer}: receive failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception, string topic, int partition, string subscription, string consumer);

    [LoggerMessage(3305, LogLevel.Warning, "WebSocket stream {Topic}/{Subscription} consumer {Consumer}: closing the consumer failed")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string topic, string subscription, string consumer);
}
