using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Publishing;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Gateway.Stomp.Protocol;
using OrleansMQ.Gateway.Stomp.Transport;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>
/// One STOMP 1.2 session over a transport. Frames are read and handled one at a time in arrival order; SENDs are
/// handed to the shared producers without waiting for them (so they pipeline and batch), and a frame with a
/// <c>receipt</c> header is answered only once everything before it is durable (publishes) or applied (acks). Reading
/// does not wait for that: the receipt is queued with what it waits for, and a receipt writer answers the queue in
/// frame order. Subscriptions push MESSAGE frames from their own loops. Any failure ends the session with an ERROR
/// frame, and no RECEIPT follows a failed publish.
/// </summary>
internal sealed partial class StompConnection
{
    private const string ProtocolVersion = "1.2";
    private const int InflightTrimThreshold = 1024;
    private const int MaxInflight = 16 * 1024;
    private const int MaxPendingReceipts = 4 * 1024;
    private static readonly string ServerName = "OrleansMQ/" + (typeof(StompConnection).Assembly.GetName().Version?.ToString(3) ?? "0");

    private static readonly HashSet<string> NotMessageHeaders = new(StringComparer.Ordinal)
    {
        StompHeaders.Destination, StompHeaders.ContentType, StompHeaders.ContentLength, StompHeaders.Receipt,
        StompHeaders.Transaction, StompHeaders.Key, StompHeaders.ApplicationMessageId,
    };

    private static readonly HashSet<string> ServerMessageHeaders = new(StringComparer.Ordinal)
    {
        StompHeaders.Subscription, StompHeaders.MessageId, StompHeaders.Destination, StompHeaders.Ack, StompHeaders.ContentType,
        StompHeaders.ContentLength, StompHeaders.Redelivered, StompHeaders.Topic, StompHeaders.Partition, StompHeaders.Offset,
        StompHeaders.DeliveryCount, StompHeaders.Key, StompHeaders.ApplicationMessageId, StompHeaders.Timestamp,
    };

    private readonly IStompTransport _transport;
    private readonly IOrleansMQClient _client;
    private readonly GatewayProducers _producers;
    private readonly StompSecurity _security;
    private readonly StompOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly StompFrameParser _parser;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, StompSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<int, StompSubscription> _subscriptionsByIndex = [];
    private readonly Dictionary<string, List<StompFrame>> _transactions = new(StringComparer.Ordinal);
    private readonly List<Task> _inflight = [];
    private readonly List<Task> _sinceReceipt = [];
    private readonly Channel<PendingReceipt> _receipts = Channel.CreateBounded<PendingReceipt>(
        new BoundedChannelOptions(MaxPendingReceipts) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stopReceipts = new();
    private Task _receiptWriter = Task.CompletedTask;
    private Task _tokenWatch = Task.CompletedTask;
    private string? _failedReceiptId;
    private readonly List<Task> _closingSubscriptions = [];
    private int _nextSubscriptionIndex;
    private Exception? _failure;
    private StompFrame? _current;
    private long _lastReceived;
    private long _lastSent;
    private int _busy;
    private long _frameStarted;
    private ClaimsPrincipal? _principal;
    private IDisposable? _connectionSlot;
    private TimeSpan _incomingHeartbeat;
    private TimeSpan _outgoingHeartbeat;

    public StompConnection(IStompTransport transport, IOrleansMQClient client, GatewayProducers producers, StompSecurity security, StompOptions options, ILogger logger, TimeProvider time)
    {
        _transport = transport;
        _client = client;
        _producers = producers;
        _security = security;
        _options = options;
        _logger = logger;
        _time = time;
        _parser = new StompFrameParser(options);
        _lastReceived = _lastSent = time.GetTimestamp();
    }

    /// <summary>The session id sent in CONNECTED (also part of consumer and temporary subscription names).</summary>
    public string SessionId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Runs the session until DISCONNECT, an error (answered with an ERROR frame), or the transport closing.</summary>
    public async Task RunAsync(CancellationToken transportClosed)
    {
        LogOpened(_logger, SessionId, _transport.Kind, _transport.RemoteEndPoint);
        using var link = CancellationTokenSource.CreateLinkedTokenSource(transportClosed, _closing.Token);
        var watch = WatchAsync(link.Token);
        var frames = WatchFramesAsync(link.Token);
        _receiptWriter = WriteReceiptsAsync(_stopReceipts.Token);
        Exception? error = null;
        try
        {
            await ReadLoopAsync(link.Token);
        }
        catch (OperationCanceledException) when (link.IsCancellationRequested)
        {
            error = _failure;
        }
        catch (Exception ex)
        {
            error = ex;
        }

        if (error is not null && !IsTransportGone(error))
        {
            // Whatever was accepted before the error is kept: receipts whose frames are durable still go out, then the
            // ERROR frame, once earlier SENDs are durable; nothing after a failed publish is receipted.
            await FinishReceiptsAsync();
            await SettleInflightAsync();
            await SendErrorAsync(error, _current);
        }

        _receipts.Writer.TryComplete();
        await _stopReceipts.CancelAsync();
        await _receiptWriter;
        await _closing.CancelAsync();
        await watch;
        await frames;
        await _tokenWatch;
        // Close first so the client is not kept waiting for the broker-side clean-up.
        await _transport.CloseAsync();
        await CleanUpAsync();
        LogClosed(_logger, SessionId, error?.Message ?? "closed");
    }

    // ---- reading ----------------------------------------------------------------------------------------------------

    private async Task ReadLoopAsync(CancellationToken token)
    {
        var input = _transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(token);
            _lastReceived = _time.GetTimestamp();
            var buffer = result.Buffer;
            var parsedAny = false;
            try
            {
                while (_parser.TryParse(ref buffer, out var frame))
                {
                    parsedAny = true;
                    _current = frame;
                    Volatile.Write(ref _busy, 1);
                    try
                    {
                        if (!await HandleAsync(frame, token))
                        {
                            return;
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref _busy, 0);
                        _lastReceived = _time.GetTimestamp();
                    }

                    _current = null;
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            // A frame's clock starts with its first byte and stops when it is complete (see WatchFramesAsync).
            if (buffer.IsEmpty)
            {
                Volatile.Write(ref _frameStarted, 0);
            }
            else if (parsedAny || Volatile.Read(ref _frameStarted) == 0)
            {
                Volatile.Write(ref _frameStarted, _time.GetTimestamp());
            }

            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Handles one frame; false ends the session (DISCONNECT).</summary>
    private async Task<bool> HandleAsync(StompFrame frame, CancellationToken token)
    {
        if (!_connected.Task.IsCompleted)
        {
            if (frame.Command is StompCommands.Connect or StompCommands.Stomp)
            {
                await ConnectAsync(frame, token);
                return true;
            }

            throw new StompProtocolException("not connected", $"The first frame must be CONNECT or STOMP, not {Shorten(frame.Command)}.");
        }

        switch (frame.Command)
        {
            case StompCommands.Send:
                if (!Buffered(frame))
                {
                    Send(frame);
                }

                break;
            case StompCommands.Subscribe:
                await SubscribeAsync(frame);
                break;
            case StompCommands.Unsubscribe:
                await UnsubscribeAsync(frame);
                break;
            case StompCommands.Ack or StompCommands.Nack:
                if (!Buffered(frame))
                {
                    Settle(frame);
                }

                break;
            case StompCommands.Begin:
                Begin(frame);
                break;
            case StompCommands.Commit:
                Commit(frame);
                break;
            case StompCommands.Abort:
                Abort(frame);
                break;
            case StompCommands.Disconnect:
                // Every receipt, this one last, goes out before the session ends; a failure among them is the session's error.
                await QueueReceiptAsync(frame, token);
                await FinishReceiptsAsync();
                if (Volatile.Read(ref _failure) is { } failure)
                {
                    throw failure;
                }

                return false;
            case StompCommands.Connect or StompCommands.Stomp:
                throw new StompProtocolException("already connected", "CONNECT was already received on this connection.");
            default:
                throw new StompProtocolException("unknown command", $"'{Shorten(frame.Command)}' is not a STOMP 1.2 client command.");
        }

        if (frame[StompHeaders.Receipt] is not null)
        {
            await QueueReceiptAsync(frame, token);
        }

        if (_inflight.Count > MaxInflight)
        {
            await ThrottleAsync();
        }

        return true;
    }

    private async Task ConnectAsync(StompFrame frame, CancellationToken token)
    {
        var versions = frame[StompHeaders.AcceptVersion];
        if (versions is null || !versions.Split(',').Any(v => v.Trim() == ProtocolVersion))
        {
            throw new StompProtocolException("unsupported protocol version", $"Supported protocol versions are {ProtocolVersion}.")
            {
                ExtraHeaders = [new(StompHeaders.Version, ProtocolVersion)],
            };
        }

        await AuthenticateAsync(frame, token);
        var (canSend, wantsToReceive) = ParseHeartbeat(frame[StompHeaders.HeartBeat]);
        var floor = (long)_options.MinHeartbeat.TotalMilliseconds;
        // The server agrees to what the client offers, never more often than the floor.
        var serverSends = wantsToReceive == 0 ? 0 : Math.Max(wantsToReceive, floor);
        var serverExpects = canSend == 0 ? 0 : Math.Max(canSend, floor);
        _outgoingHeartbeat = TimeSpan.FromMilliseconds(serverSends);
        _incomingHeartbeat = TimeSpan.FromMilliseconds(serverExpects);

        await SendFrameAsync(new StompFrame(StompCommands.Connected,
        [
            new(StompHeaders.Version, ProtocolVersion),
            new(StompHeaders.HeartBeat, FormattableString.Invariant($"{serverSends},{serverExpects}")),
            new(StompHeaders.Session, SessionId),
            new(StompHeaders.Server, ServerName),
        ]), token);
        _connected.TrySetResult();
        LogConnected(_logger, SessionId, serverSends, serverExpects);
        if (TokenExpiry.Of(_principal, _security.TokenClockSkew) is { } expiresAt)
        {
            _tokenWatch = WatchTokenAsync(expiresAt, token);
        }
    }

    /// <summary>
    /// Who the client is: the credential of an <c>Authorization</c> header (<c>Bearer</c> or <c>ApiKey</c>) or of
    /// <c>passcode</c> (an API key or a JWT; <c>login</c> is not checked); without either, whoever the transport
    /// authenticated (a WebSocket upgrade's credentials), else anonymous. Then the session takes a connection slot.
    /// </summary>
    private async Task AuthenticateAsync(StompFrame frame, CancellationToken token)
    {
        var credential = frame[StompHeaders.Authorization] is { } authorization
            ? StripScheme(authorization)
            : frame[StompHeaders.Passcode];
        var principal = string.IsNullOrEmpty(credential) && _security.TransportPrincipal?.Identity?.IsAuthenticated == true
            ? _security.TransportPrincipal
            : await _security.Authenticator.AuthenticateAsync(credential, token);
        _security.Authorizer.RequireAuthenticated(principal);
        _connectionSlot = _security.Limiter.OpenConnection(_security.Authorizer.PrincipalName(principal));
        _principal = principal;
    }

    private static string StripScheme(string authorization)
    {
        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? "" : authorization[..space];
        return scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || scheme.Equals(GatewayAuthentication.ApiKeyScheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[(space + 1)..].Trim()
            : throw new OrleansMQException(ErrorCode.Unauthorized, "The Authorization header must be 'Bearer <token>' or 'ApiKey <key>'.");
    }

    /// <summary>Throws Forbidden unless the session's principal may do <paramref name="action"/> on <paramref name="destination"/>.</summary>
    private void Authorize(GatewayAction action, StompDestination destination) =>
        _security.Authorizer.Authorize(_principal, action, destination.Kind switch
        {
            StompDestinationKind.Queue => GatewayResourceKind.Queue,
            StompDestinationKind.Exchange => GatewayResourceKind.Exchange,
            _ => GatewayResourceKind.Topic,
        }, destination.Name);

    private static (long CanSend, long WantsToReceive) ParseHeartbeat(string? header)
    {
        if (header is null)
        {
            return (0, 0);
        }

        var parts = header.Split(',');
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var cx)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var cy)
            && cx <= int.MaxValue && cy <= int.MaxValue)
        {
            return (cx, cy);
        }

        throw new StompProtocolException("malformed frame", $"heart-beat '{Shorten(header)}' must be two non-negative integers separated by a comma.");
    }

    // ---- SEND -------------------------------------------------------------------------------------------------------

    private void Send(StompFrame frame)
    {
        var destination = StompDestination.Parse(Required(frame, StompHeaders.Destination));
        // Checked before anything is handed to the producers: a denied SEND writes nothing.
        Authorize(GatewayAction.Produce, destination);
        var message = ToMessage(frame);
        var publish = destination.Kind == StompDestinationKind.Exchange
            ? _producers.PublishToExchangeAsync(destination.Name, destination.RoutingKey, message)
            : (Task)_producers.PublishAsync(destination.Name, message);
        Track(publish);
    }

    private static Message ToMessage(StompFrame frame)
    {
        Dictionary<string, string>? headers = null;
        foreach (var (name, value) in frame.Headers)
        {
            if (!NotMessageHeaders.Contains(name))
            {
                headers ??= new Dictionary<string, string>(StringComparer.Ordinal);
                headers.TryAdd(name, value);
            }
        }

        return new Message(frame.Body)
        {
            ContentType = frame[StompHeaders.ContentType],
            Key = frame[StompHeaders.Key],
            MessageId = frame[StompHeaders.ApplicationMessageId],
            Headers = headers,
        };
    }

    // ---- SUBSCRIBE / UNSUBSCRIBE ------------------------------------------------------------------------------------

    private async Task SubscribeAsync(StompFrame frame)
    {
        var id = Required(frame, StompHeaders.Id);
        if (_subscriptions.ContainsKey(id))
        {
            throw new StompProtocolException("duplicate subscription id", $"Subscription id '{Shorten(id)}' is already in use on this connection.");
        }

        if (_subscriptions.Count >= _options.MaxSubscriptionsPerConnection)
        {
            throw new OrleansMQException(ErrorCode.LimitExceeded,
                $"This connection has {_subscriptions.Count} subscriptions; the limit is Gateway:Stomp:MaxSubscriptionsPerConnection={_options.MaxSubscriptionsPerConnection}.");
        }

        var destination = StompDestination.Parse(Required(frame, StompHeaders.Destination));
        Authorize(GatewayAction.Consume, destination);
        var mode = frame[StompHeaders.Ack] switch
        {
            null or "auto" => StompAckMode.Auto,
            "client" => StompAckMode.Client,
            "client-individual" => StompAckMode.ClientIndividual,
            var other => throw new StompProtocolException("invalid ack mode", $"ack '{Shorten(other)}' must be auto, client or client-individual."),
        };
        var prefetch = _options.DefaultPrefetch;
        if (frame[StompHeaders.PrefetchCount] is { } prefetchText
            && (!int.TryParse(prefetchText, NumberStyles.None, CultureInfo.InvariantCulture, out prefetch) || prefetch is < 1 or > 10_000))
        {
            throw new StompProtocolException("invalid prefetch-count", $"prefetch-count '{Shorten(prefetchText)}' must be 1–10000.");
        }

        var slot = _security.Limiter.OpenSubscription(_security.Authorizer.PrincipalName(_principal));
        var index = ++_nextSubscriptionIndex;
        string subscription;
        string? temporary;
        try
        {
            (subscription, temporary) = await ResolveSubscriptionAsync(frame, destination, mode, index);
        }
        catch
        {
            slot.Dispose();
            throw;
        }

        var consumer = _client.CreateConsumer(destination.Name, subscription, new ConsumerOptions
        {
            Prefetch = prefetch,
            ConsumerId = $"stomp-{SessionId}-{index.ToString(CultureInfo.InvariantCulture)}",
        });
        var sub = new StompSubscription(id, index, destination, mode, consumer, temporary) { Slot = slot };
        _subscriptions.Add(id, sub);
        _subscriptionsByIndex.Add(index, sub);
        sub.Pump = PumpAsync(sub);
        LogSubscribed(_logger, SessionId, id, destination.Text, subscription, mode);
    }

    /// <summary>
    /// Maps a SUBSCRIBE onto a broker subscription: a queue's Shared subscription; a named durable subscription of a
    /// topic (created if missing); or a temporary subscription of this SUBSCRIBE alone, starting at the end of the topic.
    /// </summary>
    private async Task<(string Subscription, string? Temporary)> ResolveSubscriptionAsync(StompFrame frame, StompDestination destination, StompAckMode mode, int index)
    {
        var admin = _client.Admin;
        switch (destination.Kind)
        {
            case StompDestinationKind.Queue:
                var queue = await admin.GetTopicAsync(destination.Name);
                return queue.Subscriptions.ContainsKey(IOrleansMQAdmin.QueueSubscription)
                    ? (IOrleansMQAdmin.QueueSubscription, null)
                    : throw new OrleansMQException(ErrorCode.NotFound, $"'{destination.Name}' is a topic, not a queue: subscribe to /topic/{destination.Name}.");

            case StompDestinationKind.Topic when (frame[StompHeaders.DurableSubscriptionName] ?? frame[StompHeaders.SubscriptionName]) is { } durable:
                var name = Names.Validate(durable, "subscription");
                var topic = await admin.GetTopicAsync(destination.Name);
                if (!topic.Subscriptions.TryGetValue(name, out var spec))
                {
                    // Creating a durable subscription leaves state behind, like PUT .../subscriptions/{name} over HTTP.
                    Authorize(GatewayAction.Admin, destination);
                    spec = new SubscriptionSpec
                    {
                        Type = ParseType(frame[StompHeaders.SubscriptionType]) ?? (mode == StompAckMode.ClientIndividual ? SubscriptionType.Shared : SubscriptionType.Failover),
                        Start = ParseStart(frame[StompHeaders.Start]),
                    };
                    spec = await admin.CreateSubscriptionAsync(destination.Name, name, spec);
                }

                if (mode == StompAckMode.ClientIndividual && spec.Type is SubscriptionType.Exclusive or SubscriptionType.Failover)
                {
                    throw new OrleansMQException(ErrorCode.InvalidOperation,
                        $"Subscription '{name}' on '{destination.Name}' is {spec.Type}, whose acks are cumulative; use ack:client or ack:auto, or a Shared/KeyShared subscription for ack:client-individual.");
                }

                return (name, null);

            case StompDestinationKind.Topic:
                var temporary = $"stomp-{SessionId}-{index.ToString(CultureInfo.InvariantCulture)}";
                await admin.CreateSubscriptionAsync(destination.Name, temporary, new SubscriptionSpec
                {
                    // Per-message acks need a Shared cursor; otherwise a stream cursor keeps the topic's order.
                    Type = mode == StompAckMode.ClientIndividual ? SubscriptionType.Shared : SubscriptionType.Exclusive,
                    Start = ParseStart(frame[StompHeaders.Start]),
                    MaxDeliveries = 0,
                });
                return (temporary, temporary);

            default:
                throw new OrleansMQException(ErrorCode.InvalidOperation,
                    $"Cannot subscribe to exchange '{destination.Name}': bind a queue to it and subscribe to /queue/{{name}}.");
        }
    }

    private static SubscriptionType? ParseType(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "exclusive" => SubscriptionType.Exclusive,
        "failover" => SubscriptionType.Failover,
        "shared" => SubscriptionType.Shared,
        "key-shared" or "keyshared" => SubscriptionType.KeyShared,
        _ => throw new StompProtocolException("invalid subscription type", $"{StompHeaders.SubscriptionType} '{Shorten(text)}' must be exclusive, failover, shared or key-shared."),
    };

    private static StartPosition ParseStart(string? text) => text?.ToLowerInvariant() switch
    {
        null or "latest" => StartPosition.Latest,
        "earliest" => StartPosition.Earliest,
        _ => throw new StompProtocolException("invalid start", $"{StompHeaders.Start} '{Shorten(text)}' must be earliest or latest."),
    };

    private async Task PumpAsync(StompSubscription sub)
    {
        await Task.Yield();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, sub.Stopping.Token);
        try
        {
            await foreach (var delivery in sub.Consumer.ConsumeAsync(stop.Token))
            {
                var ackId = sub.Register(delivery);
                await SendFrameAsync(ToMessageFrame(sub, delivery, ackId), stop.Token);
                if (sub.Mode == StompAckMode.Auto)
                {
                    Observe(SettleQuietlyAsync(delivery, ack: true, reason: null));
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // Unsubscribed or closing.
        }
        catch (Exception ex)
        {
            var code = (ex as OrleansMQException)?.Code;
            Fail(new StompProtocolException("subscription failed", $"Subscription '{sub.Id}' to {sub.Destination.Text} failed: {ex.Message}", ex)
            {
                ExtraHeaders = code is { } c ? [new(StompHeaders.Subscription, sub.Id), new(StompHeaders.ErrorCode, c.ToString())] : [new(StompHeaders.Subscription, sub.Id)],
            });
        }
    }

    private static StompFrame ToMessageFrame(StompSubscription sub, Delivery delivery, string? ackId)
    {
        var m = delivery.Message;
        var headers = new List<KeyValuePair<string, string>>(12 + m.Headers.Count)
        {
            new(StompHeaders.Subscription, sub.Id),
            new(StompHeaders.MessageId, FormattableString.Invariant($"{m.Topic}/{m.Partition}/{m.Offset}")),
            new(StompHeaders.Destination, sub.Destination.Text),
        };
        if (ackId is not null)
        {
            headers.Add(new(StompHeaders.Ack, ackId));
        }

        if (m.ContentType is { } contentType)
        {
            headers.Add(new(StompHeaders.ContentType, contentType));
        }

        if (delivery.Redelivered)
        {
            headers.Add(new(StompHeaders.Redelivered, "true"));
        }

        headers.Add(new(StompHeaders.Topic, m.Topic));
        headers.Add(new(StompHeaders.Partition, m.Partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add(new(StompHeaders.Offset, m.Offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add(new(StompHeaders.DeliveryCount, delivery.DeliveryCount.ToString(CultureInfo.InvariantCulture)));
        headers.Add(new(StompHeaders.Timestamp, m.Timestamp.ToString("O", CultureInfo.InvariantCulture)));
        if (m.Key is { } key)
        {
            headers.Add(new(StompHeaders.Key, key));
        }

        if (m.MessageId is { } messageId)
        {
            headers.Add(new(StompHeaders.ApplicationMessageId, messageId));
        }

        foreach (var (name, value) in m.Headers)
        {
            if (!ServerMessageHeaders.Contains(name))
            {
                headers.Add(new(name, value));
            }
        }

        return new StompFrame(StompCommands.Message, headers, m.Body);
    }

    private async Task UnsubscribeAsync(StompFrame frame)
    {
        var id = Required(frame, StompHeaders.Id);
        if (!_subscriptions.Remove(id, out var sub))
        {
            throw new StompProtocolException("unknown subscription", $"No subscription with id '{Shorten(id)}' on this connection.");
        }

        _subscriptionsByIndex.Remove(sub.Index);
        await StopAsync(sub);
    }

    /// <summary>
    /// Stops the pump at once (no MESSAGE for this subscription follows), then closes the consumer — its unsettled
    /// deliveries go back to the subscription — and deletes a temporary subscription in the background: closing waits
    /// for the consumer's current long poll, which must not hold up the session or a RECEIPT.
    /// </summary>
    private async Task StopAsync(StompSubscription sub)
    {
        await sub.Stopping.CancelAsync();
        await sub.Pump;
        sub.Slot?.Dispose();
        sub.Stopping.Dispose();
        _closingSubscriptions.Add(CloseAsync(sub));
    }

    private async Task CloseAsync(StompSubscription sub)
    {
        try
        {
            await sub.Consumer.DisposeAsync();
            if (sub.TemporarySubscription is { } temporary)
            {
                await _client.Admin.DeleteSubscriptionAsync(sub.Destination.Name, temporary);
            }
        }
        catch (Exception ex)
        {
            LogCleanupFailed(_logger, ex, SessionId, sub.Id);
        }
    }

    // ---- ACK / NACK -------------------------------------------------------------------------------------------------

    private void Settle(StompFrame frame)
    {
        var id = Required(frame, StompHeaders.Id);
        if (!StompSubscription.TryParseAckId(id, out var index, out var sequence))
        {
            throw new StompProtocolException("unknown ack id", $"'{Shorten(id)}' is not an ack id this server sent.");
        }

        if (!_subscriptionsByIndex.TryGetValue(index, out var sub) || sub.Mode == StompAckMode.Auto)
        {
            // Unsubscribed: its unsettled deliveries were released already. Auto: nothing to settle.
            if (index < 1 || index > _nextSubscriptionIndex)
            {
                throw new StompProtocolException("unknown ack id", $"'{Shorten(id)}' is not an ack id this server sent.");
            }

            return;
        }

        var taken = sub.Take(sequence);
        if (taken.Count == 0 && !sub.WasSent(sequence))
        {
            throw new StompProtocolException("unknown ack id", $"'{Shorten(id)}' is not an ack id this server sent.");
        }

        var ack = frame.Command == StompCommands.Ack;
        var reason = ack ? null : frame[StompHeaders.NackReason] ?? "nacked over STOMP";
        foreach (var delivery in taken)
        {
            Track(SettleQuietlyAsync(delivery, ack, reason));
        }
    }

    /// <summary>
    /// Acks or nacks one delivery. A stale one (its lease ran out, or it was settled elsewhere) is not a session error:
    /// the broker redelivers it anyway, which is the at-least-once contract.
    /// </summary>
    private async Task SettleQuietlyAsync(Delivery delivery, bool ack, string? reason)
    {
        try
        {
            if (ack)
            {
                await delivery.AckAsync();
            }
            else
            {
                await delivery.NackAsync(reason);
            }
        }
        catch (OrleansMQException ex) when (ex.Code is ErrorCode.DeliveryExpired or ErrorCode.UnknownDelivery or ErrorCode.InvalidOperation)
        {
            LogStaleSettle(_logger, SessionId, delivery.Topic, delivery.Partition, delivery.Offset, ex.Code);
        }
    }

    // ---- transactions -----------------------------------------------------------------------------------------------

    private bool Buffered(StompFrame frame)
    {
        if (frame[StompHeaders.Transaction] is not { } transaction)
        {
            return false;
        }

        if (!_transactions.TryGetValue(transaction, out var frames))
        {
            throw new StompProtocolException("unknown transaction", $"Transaction '{Shorten(transaction)}' was not begun on this connection.");
        }

        if (frames.Count >= _options.MaxFramesPerTransaction)
        {
            throw new StompProtocolException("transaction too large", $"A transaction may hold at most {_options.MaxFramesPerTransaction} frames.");
        }

        // Validate now, so a bad destination fails the SEND and not the later COMMIT.
        if (frame.Command == StompCommands.Send)
        {
            Authorize(GatewayAction.Produce, StompDestination.Parse(Required(frame, StompHeaders.Destination)));
        }
        else
        {
            Required(frame, StompHeaders.Id);
        }

        frames.Add(frame.Without(StompHeaders.Transaction).Without(StompHeaders.Receipt));
        return true;
    }

    private void Begin(StompFrame frame)
    {
        var transaction = Required(frame, StompHeaders.Transaction);
        if (_transactions.ContainsKey(transaction))
        {
            throw new StompProtocolException("duplicate transaction", $"Transaction '{Shorten(transaction)}' is already in progress.");
        }

        if (_transactions.Count >= _options.MaxTransactionsPerConnection)
        {
            throw new StompProtocolException("too many transactions", $"A connection may have at most {_options.MaxTransactionsPerConnection} open transactions.");
        }

        _transactions.Add(transaction, []);
    }

    /// <summary>Replays the buffered SEND/ACK/NACK frames in order; a RECEIPT for COMMIT waits until all of them took effect.</summary>
    private void Commit(StompFrame frame)
    {
        var transaction = Required(frame, StompHeaders.Transaction);
        if (!_transactions.Remove(transaction, out var frames))
        {
            throw new StompProtocolException("unknown transaction", $"Transaction '{Shorten(transaction)}' was not begun on this connection.");
        }

        foreach (var buffered in frames)
        {
            if (buffered.Command == StompCommands.Send)
            {
                Send(buffered);
            }
            else
            {
                Settle(buffered);
            }
        }
    }

    private void Abort(StompFrame frame)
    {
        var transaction = Required(frame, StompHeaders.Transaction);
        if (!_transactions.Remove(transaction))
        {
            throw new StompProtocolException("unknown transaction", $"Transaction '{Shorten(transaction)}' was not begun on this connection.");
        }
    }

    // ---- in-flight work and receipts --------------------------------------------------------------------------------

    /// <summary>Remembers work a later receipt must wait for; its failure ends the session.</summary>
    private void Track(Task work)
    {
        if (work.IsCompletedSuccessfully)
        {
            return;
        }

        Observe(work);
        _inflight.Add(work);
        _sinceReceipt.Add(work);
        if (_inflight.Count > InflightTrimThreshold)
        {
            _inflight.RemoveAll(t => t.IsCompleted);
        }

        if (_sinceReceipt.Count > InflightTrimThreshold)
        {
            // Only successes may go: a failed publish must keep failing the next receipt's wait.
            _sinceReceipt.RemoveAll(t => t.IsCompletedSuccessfully);
        }
    }

    /// <summary>Ends the session when <paramref name="work"/> fails.</summary>
    private void Observe(Task work) =>
        work.ContinueWith(static (t, state) => ((StompConnection)state!).Fail(t.Exception!.GetBaseException()), this,
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>A client that pipelines faster than the broker stores waits here (and so stops being read) until it is back under the bound.</summary>
    private async Task ThrottleAsync()
    {
        _inflight.RemoveAll(t => t.IsCompleted);
        while (_inflight.Count > MaxInflight / 2)
        {
            await _inflight[0];
            _inflight.RemoveAt(0);
        }
    }

    /// <summary>
    /// Queues the frame's RECEIPT behind the work handed out since the previous receipt. The writer answers receipts
    /// in order, so a receipt also waits for everything before earlier receipts. Waits only when
    /// <see cref="MaxPendingReceipts"/> receipts are already waiting.
    /// </summary>
    private ValueTask QueueReceiptAsync(StompFrame frame, CancellationToken token)
    {
        if (frame[StompHeaders.Receipt] is not { } receipt)
        {
            return ValueTask.CompletedTask;
        }

        Task durable;
        switch (_sinceReceipt.Count)
        {
            case 0:
                durable = Task.CompletedTask;
                break;
            case 1:
                durable = _sinceReceipt[0];
                break;
            default:
                durable = Task.WhenAll(_sinceReceipt.ToArray());
                break;
        }

        _sinceReceipt.Clear();
        var pending = new PendingReceipt(receipt, durable);
        return _receipts.Writer.TryWrite(pending) ? ValueTask.CompletedTask : _receipts.Writer.WriteAsync(pending, token);
    }

    /// <summary>
    /// Sends the queued receipts in frame order, each once its work is done; stops at the first failed one (the
    /// session fails with it), so no receipt after a failure claims success.
    /// </summary>
    private async Task WriteReceiptsAsync(CancellationToken token)
    {
        var reader = _receipts.Reader;
        try
        {
            while (await reader.WaitToReadAsync(token))
            {
                while (reader.TryRead(out var pending))
                {
                    try
                    {
                        await pending.Durable.WaitAsync(token);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The ERROR frame answers this receipt instead.
                        Volatile.Write(ref _failedReceiptId, pending.ReceiptId);
                        Fail(ex);
                        return;
                    }

                    await SendFrameAsync(new StompFrame(StompCommands.Receipt, [new(StompHeaders.ReceiptId, pending.ReceiptId)]), token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (IsTransportGone(ex))
        {
            Fail(ex);
        }
    }

    /// <summary>Lets the writer answer what is queued (boundedly: a publish that never completes is not waited out).</summary>
    private async Task FinishReceiptsAsync()
    {
        _receipts.Writer.TryComplete();
        try
        {
            await _receiptWriter.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            await _stopReceipts.CancelAsync();
            await _receiptWriter;
        }
    }

    /// <summary>Waits (boundedly) for in-flight work when the session is failing; their own failures are already reported.</summary>
    private async Task SettleInflightAsync()
    {
        try
        {
            await Task.WhenAll(_inflight).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Failed publishes were reported through Fail (or are the error being sent); a timeout leaves them to finish on their own.
        }

        _inflight.Clear();
        _sinceReceipt.Clear();
    }

    /// <summary>A RECEIPT waiting for the work it confirms.</summary>
    private readonly record struct PendingReceipt(string ReceiptId, Task Durable);

    /// <summary>A background failure (a publish, an ack, a subscription): the session ends with an ERROR frame.</summary>
    private void Fail(Exception error)
    {
        Interlocked.CompareExchange(ref _failure, error, null);
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    // ---- writing, heart-beats, shutdown -----------------------------------------------------------------------------

    private async ValueTask SendFrameAsync(StompFrame frame, CancellationToken token)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + frame.Body.Length);
        StompFrameWriter.Write(frame, buffer);
        await SendRawAsync(buffer.WrittenMemory, token);
    }

    private async ValueTask SendRawAsync(ReadOnlyMemory<byte> data, CancellationToken token)
    {
        await _writeLock.WaitAsync(token);
        try
        {
            await _transport.SendAsync(data, token);
            _lastSent = _time.GetTimestamp();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Closes a connection that does not CONNECT in time, sends heart-beats, and closes one whose client went silent.</summary>
    private async Task WatchAsync(CancellationToken token)
    {
        try
        {
            await _connected.Task.WaitAsync(_options.ConnectTimeout, _time, token);
        }
        catch (TimeoutException)
        {
            Fail(new StompProtocolException("connect timeout", $"No CONNECT frame within {_options.ConnectTimeout.TotalSeconds:0.#} s."));
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var intervals = new[] { _outgoingHeartbeat, _incomingHeartbeat }.Where(i => i > TimeSpan.Zero).ToArray();
        if (intervals.Length == 0)
        {
            return;
        }

        // Ticking at half the shortest interval keeps outgoing gaps under the interval.
        using var timer = new PeriodicTimer(intervals.Min() / 2, _time);
        var tolerance = _incomingHeartbeat * _options.HeartbeatTolerance;
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                if (_incomingHeartbeat > TimeSpan.Zero && Volatile.Read(ref _busy) == 0 && _time.GetElapsedTime(_lastReceived) > tolerance)
                {
                    Fail(new StompProtocolException("heart-beat timeout",
                        $"Nothing received for more than {tolerance.TotalMilliseconds:0} ms ({_options.HeartbeatTolerance:0.#} x the negotiated {_incomingHeartbeat.TotalMilliseconds:0} ms)."));
                    return;
                }

                if (_outgoingHeartbeat > TimeSpan.Zero && _time.GetElapsedTime(_lastSent) >= _outgoingHeartbeat / 2)
                {
                    await SendRawAsync("\n"u8.ToArray(), token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (IsTransportGone(ex))
        {
            Fail(ex);
        }
    }

    /// <summary>Ends a session authenticated by a bearer token when the token expires: ERROR "token expired", no more MESSAGE frames.</summary>
    private async Task WatchTokenAsync(DateTimeOffset expiresAt, CancellationToken token)
    {
        try
        {
            await TokenExpiry.WaitAsync(expiresAt, _time, token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var expired = TokenExpiry.Expired(expiresAt);
        Fail(new StompProtocolException(TokenExpiry.Message, expired.Message, expired));
    }

    /// <summary>Closes a connection whose current frame is not complete within <see cref="StompOptions.FrameTimeout"/> of its first byte.</summary>
    private async Task WatchFramesAsync(CancellationToken token)
    {
        var timeout = _options.FrameTimeout;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(50, timeout.TotalMilliseconds / 4)), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                var started = Volatile.Read(ref _frameStarted);
                if (started != 0 && Volatile.Read(ref _busy) == 0 && _time.GetElapsedTime(started) > timeout)
                {
                    Fail(new StompProtocolException("frame timeout",
                        $"A frame was not complete {timeout.TotalSeconds:0.#} s after its first byte (Gateway:Stomp:FrameTimeout)."));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendErrorAsync(Exception error, StompFrame? frame)
    {
        var headers = new List<KeyValuePair<string, string>>();
        string message;
        string body;
        switch (error)
        {
            case StompProtocolException stomp:
                message = stomp.Message;
                body = stomp.Detail ?? stomp.Message;
                headers.AddRange(stomp.ExtraHeaders);
                if (stomp.InnerException is OrleansMQException inner && !headers.Any(h => h.Key == StompHeaders.ErrorCode))
                {
                    headers.Add(new(StompHeaders.ErrorCode, inner.Code.ToString()));
                }

                break;
            case OrleansMQException mq:
                message = Shorten(mq.Message, 200);
                body = mq.Message;
                headers.Add(new(StompHeaders.ErrorCode, mq.Code.ToString()));
                break;
            default:
                message = "internal error";
                body = error.Message;
                break;
        }

        headers.Insert(0, new(StompHeaders.Message, message));
        if ((Volatile.Read(ref _failedReceiptId) ?? frame?[StompHeaders.Receipt]) is { } receipt)
        {
            headers.Add(new(StompHeaders.ReceiptId, receipt));
        }

        headers.Add(new(StompHeaders.ContentType, "text/plain"));
        LogError(_logger, SessionId, message, body);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await SendFrameAsync(new StompFrame(StompCommands.Error, headers, System.Text.Encoding.UTF8.GetBytes(body)), timeout.Token);
        }
        catch (Exception ex) when (IsTransportGone(ex) || ex is OperationCanceledException)
        {
        }
    }

    /// <summary>Implicitly aborts open transactions and ends every subscription (the client is gone already, so this may take a long poll).</summary>
    private async Task CleanUpAsync()
    {
        _transactions.Clear();
        var subscriptions = _subscriptions.Values.ToList();
        _subscriptions.Clear();
        _subscriptionsByIndex.Clear();
        foreach (var sub in subscriptions)
        {
            await StopAsync(sub);
        }

        await Task.WhenAll(_closingSubscriptions);
        _connectionSlot?.Dispose();
    }

    private static bool IsTransportGone(Exception ex) =>
        ex is ConnectionResetException or ConnectionAbortedException or IOException or WebSocketException or ObjectDisposedException;

    private static string Required(StompFrame frame, string header) =>
        frame[header] is { Length: > 0 } value
            ? value
            : throw new StompProtocolException("malformed frame", $"{frame.Command} needs a '{header}' header.");

    private static string Shorten(string text, int max = 80) => text.Length > max ? text[..max] + "…" : text;

    [LoggerMessage(3001, LogLevel.Debug, "STOMP session {Session} opened over {Transport} from {Remote}")]
    private static partial void LogOpened(ILogger logger, string session, string transport, string remote);

    [LoggerMessage(3002, LogLevel.Debug, "STOMP session {Session} connected (heart-beats: send every {SendMs} ms, expect every {ExpectMs} ms)")]
    private static partial void LogConnected(ILogger logger, string session, long sendMs, long expectMs);

    [LoggerMessage(3003, LogLevel.Debug, "STOMP session {Session} subscribed {Id} to {Destination} (subscription {Subscription}, ack {Mode})")]
    private static partial void LogSubscribed(ILogger logger, string session, string id, string destination, string subscription, StompAckMode mode);

    [LoggerMessage(3004, LogLevel.Information, "STOMP session {Session} ends with ERROR '{Message}': {Detail}")]
    private static partial void LogError(ILogger logger, string session, string message, string detail);

    [LoggerMessage(3005, LogLevel.Debug, "STOMP session {Session} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, string session, string reason);

    [LoggerMessage(3006, LogLevel.Debug, "STOMP session {Session}: settling {Topic}/{Partition}@{Offset} was stale ({Code}); the broker redelivers it")]
    private static partial void LogStaleSettle(ILogger logger, string session, string topic, int partition, long offset, ErrorCode code);

    [LoggerMessage(3007, LogLevel.Warning, "STOMP session {Session}: cleaning up subscription {Id} failed")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string session, string id);
}
