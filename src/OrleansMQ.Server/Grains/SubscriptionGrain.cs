using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Telemetry;

namespace OrleansMQ.Server.Grains;

/// <summary>
/// A subscription's cursor on one partition. It decides what each consumer gets next (per subscription type), holds
/// leases (visibility timeouts), redelivers on expiry or nack with backoff, dead-letters after max deliveries, and
/// pushes to an attached subscriber grain.
/// <para>
/// Reentrant because receives are long polls: a waiting receive must not block acks, nacks or other consumers. All
/// bookkeeping is synchronous between awaits; the only awaits are partition reads (guarded by an epoch so a seek during a
/// read discards it), dead-letter appends, and coalesced state writes.
/// </para>
/// </summary>
[Reentrant]
[GrainType("omq.subscription")]
internal sealed partial class SubscriptionGrain(
    [PersistentState("cursor", OrleansMQServerOptions.GrainStorageName)] IPersistentState<CursorState> state,
    [FromKeyedServices(OrleansMQServerOptions.TimeProviderKey)] TimeProvider time,
    IOptions<OrleansMQServerOptions> options,
    Transforms.TransformPipeline transforms,
    ILogger<SubscriptionGrain> logger) : Grain, ISubscriptionGrain
{
    internal const string PushConsumerId = "omq-push";
    private const int MaxReadBytes = 4 << 20;

    private readonly OrleansMQServerOptions _options = options.Value;
    private readonly Dictionary<string, ConsumerSession> _consumers = new(StringComparer.Ordinal);

    // Consumers that closed while one of their receives may still be on its way: that receive must not open a new
    // session and lease messages nobody will process. The next receive under the id consumes the mark (a consumer that
    // reuses its id gets one empty answer); bounded, oldest first out.
    private readonly HashSet<string> _closedConsumers = new(StringComparer.Ordinal);
    private readonly Queue<string> _closedOrder = new();
    private readonly Dictionary<long, LeaseEntry> _leases = [];
    private readonly SortedDictionary<long, Redelivery> _redeliveries = [];

    // Delayed messages read while _redeliveries was full (MaxScheduledInMemory) are left in the log: _spilledDue is the
    // earliest due time among them (MaxValue = none). They are read again from the ack floor when the held set drains to
    // half or when that time comes, so memory stays bounded and nothing is lost.
    private DateTimeOffset _spilledDue = DateTimeOffset.MaxValue;
    private readonly List<(StoredMessage Message, int Attempt, string Reason)> _toDeadLetter = [];
    private List<StoredMessage> _buffer = [];
    private string _topic = "";
    private int _partition;
    private string _name = "";
    private IPartitionGrain _partitionGrain = null!;
    private SubscriptionConfig? _config;
    private long _readPosition;
    private long _knownHigh = -1;
    private GaugeCell? _lagGauge;
    private long _sessionOrder;
    private long _epoch;
    private Task? _fetch;
    private Task? _write;
    private TaskCompletionSource? _nextWrite;
    private long _lastWriteStarted;
    private bool _persistNow;
    private bool _dirty;
    private long _reportedFloor = -1;
    private TaskCompletionSource _changed = NewSignal();
    private CancellationTokenSource? _pushStop;
    private GrainId? _pushTarget;
    private string? _activeConsumer;

    private SubscriptionSpec Spec => _config!.Spec;

    private bool IsStream => Spec.Type is SubscriptionType.Exclusive or SubscriptionType.Failover;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_topic, _partition, _name) = GrainKeys.ParseSubscription(this.GetPrimaryKeyString());
        _partitionGrain = GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(_topic, _partition));
        var config = await GrainFactory.GetGrain<ITopicGrain>(_topic).GetSubscriptionConfigAsync(_name);
        if (config is not null)
        {
            await ApplyConfigAsync(config);
            _lagGauge = BrokerGauges.AddLag(_topic, _name, _partition);
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        BrokerGauges.Remove(_lagGauge);
        _lagGauge = null;
        StopPush();
        _persistNow = true; // no pacing on the way out
        return _write ?? Task.CompletedTask;
    }

    public async Task ConfigureAsync(SubscriptionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        await ApplyConfigAsync(config);
    }

    public async Task<ReceiveResult> ReceiveAsync(string consumerId, int maxMessages, TimeSpan maxWait)
    {
        if (string.IsNullOrEmpty(consumerId) || consumerId.Length > 256)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, "Consumer id must be 1–256 characters.");
        }

        if (maxMessages is < 1 or > 10_000)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Receive on '{_topic}/{_name}': maxMessages is {maxMessages}; it must be 1–10000.");
        }

        EnsureReady();
        ThrowIfFenced(consumerId);
        if (_closedConsumers.Remove(consumerId))
        {
            return new ReceiveResult { Messages = [], Active = false };
        }

        var wait = maxWait < TimeSpan.Zero ? TimeSpan.Zero : maxWait > _options.MaxReceiveWait ? _options.MaxReceiveWait : maxWait;
        var clock = Stopwatch.StartNew();
        var now = time.GetUtcNow();
        ExpireConsumers(now, except: consumerId);
        var session = Touch(consumerId, now);
        if (Spec.Type == SubscriptionType.Exclusive && _consumers.Values.Any(c => c.Id != consumerId))
        {
            _consumers.Remove(consumerId);
            throw new OrleansMQException(ErrorCode.ConsumerBusy,
                $"Subscription '{_name}' on '{_topic}' is Exclusive and partition {_partition} already has a consumer.");
        }

        while (true)
        {
            EnsureReady();
            var active = Spec.Type != SubscriptionType.Failover || ActiveConsumer() == consumerId;
            if (active)
            {
                ExpireLeases(now);
                await FlushDeadLettersAsync();
                var batch = await CollectAsync(consumerId, maxMessages);
                if (batch.Count > 0 && !_consumers.ContainsKey(consumerId))
                {
                    // The consumer closed while this receive read from the log: nobody will process these.
                    _closedConsumers.Remove(consumerId);
                    ReleaseLeasesOf(consumerId, "consumer closed");
                    Signal();
                    return new ReceiveResult { Messages = [], Active = false };
                }

                if (batch.Count > 0)
                {
                    return new ReceiveResult { Messages = batch };
                }
            }

            var remaining = wait - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return new ReceiveResult { Messages = [], Active = active };
            }

            await WaitForChangeAsync(remaining, NextDueIn(now));
            now = time.GetUtcNow();
            if (!_consumers.ContainsKey(consumerId))
            {
                // Closed (or timed out and removed) while we waited.
                _closedConsumers.Remove(consumerId);
                return new ReceiveResult { Messages = [], Active = false };
            }

            session.LastSeen = now;
        }
    }

    public async Task AckAsync(string consumerId, IReadOnlyList<DeliveryTag> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        EnsureReady();
        ThrowIfFenced(consumerId);
        if (tags.Count == 0)
        {
            return;
        }

        if (_consumers.TryGetValue(consumerId, out var session))
        {
            session.LastSeen = time.GetUtcNow();
        }

        var floorBefore = state.State.AckFloor;
        var ackedBefore = state.State.AckedAbove.Count;
        var failure = IsStream ? AckCumulative(tags) : AckEach(tags);
        OrleansMQTelemetry.Acked.Add(Math.Max(0, state.State.AckFloor - floorBefore + state.State.AckedAbove.Count - ackedBefore), TopicTag, SubscriptionTag);
        AdvanceFloor();
        Signal();
        await PersistAsync();
        if (failure is not null)
        {
            throw failure;
        }
    }

    public async Task NackAsync(string consumerId, IReadOnlyList<DeliveryTag> tags, string? reason)
    {
        ArgumentNullException.ThrowIfNull(tags);
        EnsureReady();
        ThrowIfFenced(consumerId);
        var now = time.GetUtcNow();
        OrleansMQException? failure = null;
        foreach (var tag in tags)
        {
            if (_leases.TryGetValue(tag.Offset, out var lease) && lease.Attempt == tag.Attempt)
            {
                _leases.Remove(tag.Offset);
                OrleansMQTelemetry.Nacked.Add(1, TopicTag, SubscriptionTag);
                Fail(lease.Message, lease.Attempt, reason ?? "nacked by consumer", now + Spec.BackoffFor(lease.Attempt));
            }
            else if (!IsAcked(tag.Offset))
            {
                failure ??= StaleOrUnknown(tag);
            }
        }

        await FlushDeadLettersAsync();
        Signal();
        if (failure is not null)
        {
            throw failure;
        }
    }

    public async Task SeekAsync(StartPosition position)
    {
        ArgumentNullException.ThrowIfNull(position);
        EnsureReady();
        var target = await ResolveAsync(position);
        ResetCursor(target);
        state.State.DeliveryCounts.Clear();
        await PersistAsync();
        LogSeek(logger, _topic, _partition, _name, target);
    }

    public async Task<long> ClaimExclusiveAsync(string consumerId, bool takeOver = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumerId);
        EnsureReady();
        if (Spec.Type != SubscriptionType.Exclusive)
        {
            throw new OrleansMQException(ErrorCode.InvalidOperation,
                $"Subscription '{_name}' on '{_topic}' is {Spec.Type}; only an Exclusive subscription can be claimed.");
        }

        var now = time.GetUtcNow();
        ExpireConsumers(now, except: consumerId);
        if (!takeOver && state.State.ExclusiveOwner is { } owner && owner != consumerId && _consumers.ContainsKey(owner))
        {
            return 0;
        }

        foreach (var other in _consumers.Keys.Where(id => id != consumerId).ToList())
        {
            _consumers.Remove(other);
            ReleaseLeasesOf(other, "fenced: another consumer claimed the subscription");
        }

        state.State.ExclusiveOwner = consumerId;
        state.State.OwnerEpoch++;
        Touch(consumerId, now);
        await PersistAsync();
        Signal();
        LogClaimed(logger, _topic, _partition, _name, consumerId, state.State.OwnerEpoch);
        return state.State.OwnerEpoch;
    }

    public async Task CloseConsumerAsync(string consumerId)
    {
        if (_config is null || !_consumers.Remove(consumerId))
        {
            return;
        }

        MarkClosed(consumerId);

        ReleaseLeasesOf(consumerId, "consumer closed");
        await FlushDeadLettersAsync();
        Signal();
    }

    public async Task<SubscriptionPartitionStats> GetStatsAsync()
    {
        EnsureReady();
        var info = await _partitionGrain.GetInfoAsync();
        _knownHigh = Math.Max(_knownHigh, info.HighWatermark);
        var floor = state.State.AckFloor;
        return new SubscriptionPartitionStats
        {
            Partition = _partition,
            AckFloor = floor,
            ReadPosition = _buffer.Count > 0 ? _buffer[0].Offset : _readPosition,
            HighWatermark = info.HighWatermark,
            Backlog = Math.Max(0, info.HighWatermark - Math.Max(floor, info.LowWatermark) - state.State.AckedAbove.Count),
            InFlight = _leases.Count,
            Consumers = _consumers.Count,
            DeadLettered = state.State.DeadLettered,
            ScheduledInMemory = _redeliveries.Count,
        };
    }

    public Task NotifyAsync(long highWatermark)
    {
        if (highWatermark > _knownHigh)
        {
            _knownHigh = highWatermark;
            Signal();
        }

        return Task.CompletedTask;
    }

    public Task NotifyAppendedAsync(long highWatermark, IReadOnlyList<StoredMessage> appended)
    {
        // Only when nothing else is moving the read position (no fetch in flight), the batch continues exactly where the
        // cursor reads next, and the read-ahead buffer has room; otherwise the next fetch reads the same messages.
        if (_config is not null && _fetch is null && appended.Count > 0 && appended[0].Offset == _readPosition
            && _buffer.Count + appended.Count <= _options.ReadAheadMessages)
        {
            Accept(appended, time.GetUtcNow());
            OrleansMQTelemetry.CursorFilled.Add(appended.Count, TopicTag, SubscriptionTag, new KeyValuePair<string, object?>("source", "notify"));
        }

        return NotifyAsync(highWatermark);
    }

    public async Task DeleteAsync()
    {
        StopPush();
        _config = null;
        _persistNow = true;
        await (_write ?? Task.CompletedTask);
        await state.ClearStateAsync();
        Signal();
        DeactivateOnIdle();
    }

    // ---- configuration and start position -------------------------------------------------------------------------

    private async Task ApplyConfigAsync(SubscriptionConfig config)
    {
        var fresh = !state.State.Initialized || state.State.Incarnation != config.TopicIncarnation;
        var typeChanged = _config is not null && _config.Spec.Type != config.Spec.Type;
        _config = config;
        if (fresh)
        {
            var start = await ResolveAsync(config.Spec.Start);
            state.State = new CursorState { Incarnation = config.TopicIncarnation, Initialized = true, AckFloor = start };
            ResetCursor(start);
            await PersistAsync();
        }
        else if (typeChanged || _readPosition < state.State.AckFloor)
        {
            ResetCursor(state.State.AckFloor);
        }

        var target = config.Subscriber?.GetGrainId();
        if (_pushStop is not null && target == _pushTarget && !typeChanged)
        {
            return; // already pushing to this subscriber
        }

        StopPush();
        _pushTarget = target;
        if (config.Subscriber is { } subscriber)
        {
            _pushStop = new CancellationTokenSource();
            _ = PushLoopAsync(subscriber, _pushStop.Token);
        }
    }

    private async Task<long> ResolveAsync(StartPosition position)
    {
        var info = await _partitionGrain.GetInfoAsync();
        return position.Kind switch
        {
            StartKind.Earliest => info.LowWatermark,
            StartKind.Latest => info.HighWatermark,
            StartKind.Offset => Math.Clamp(position.Offset, info.LowWatermark, info.HighWatermark),
            StartKind.Timestamp => await _partitionGrain.FindOffsetAsync(position.Timestamp),
            _ => throw new OrleansMQException(ErrorCode.InvalidArgument, $"Unknown start position kind {position.Kind}."),
        };
    }

    /// <summary>Forgets everything handed out and reads again from <paramref name="offset"/>.</summary>
    private void ResetCursor(long offset)
    {
        _epoch++;
        _leases.Clear();
        _redeliveries.Clear();
        _spilledDue = DateTimeOffset.MaxValue;
        _toDeadLetter.Clear();
        _buffer = [];
        state.State.AckFloor = offset;
        state.State.AckedAbove.RemoveWhere(o => o < offset);
        _readPosition = offset;
        _knownHigh = -1;
        Signal();
    }

    private void EnsureReady()
    {
        if (_config is null)
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{_name}' on topic '{_topic}' does not exist.");
        }
    }

    // ---- consumers -------------------------------------------------------------------------------------------------

    private ConsumerSession Touch(string consumerId, DateTimeOffset now)
    {
        if (!_consumers.TryGetValue(consumerId, out var session))
        {
            session = new ConsumerSession(consumerId, ++_sessionOrder);
            _consumers[consumerId] = session;
            if (Spec.Type == SubscriptionType.Failover)
            {
                Signal();
            }
        }

        session.LastSeen = now;
        return session;
    }

    private void ExpireConsumers(DateTimeOffset now, string? except)
    {
        List<string>? gone = null;
        foreach (var c in _consumers.Values)
        {
            if (c.Id != except && c.Id != PushConsumerId && now - c.LastSeen > Spec.ConsumerTimeout)
            {
                (gone ??= []).Add(c.Id);
            }
        }

        if (gone is null)
        {
            return;
        }

        foreach (var id in gone)
        {
            _consumers.Remove(id);
            ReleaseLeasesOf(id, "consumer timed out");
        }

        Signal();
    }

    /// <summary>
    /// Failover: the active consumer of this partition. Consumers are ordered by id and partition p goes to consumer
    /// p mod n, so a partitioned topic's partitions spread over the consumers (as in Pulsar) and every partition grain
    /// agrees without talking to the others. When the active one changes, what the previous one held is released to it.
    /// </summary>
    private string? ActiveConsumer()
    {
        if (_consumers.Count == 0)
        {
            return null;
        }

        var ids = _consumers.Keys.Where(id => id != PushConsumerId).Order(StringComparer.Ordinal).ToList();
        var active = ids.Count == 0 ? PushConsumerId : ids[_partition % ids.Count];
        if (active != _activeConsumer)
        {
            foreach (var other in _leases.Values.Select(l => l.ConsumerId).Where(id => id != active).Distinct().ToList())
            {
                ReleaseLeasesOf(other, "failover to another consumer");
            }

            _activeConsumer = active;
        }

        return active;
    }

    /// <summary>A consumer other than the one that last claimed an Exclusive cursor must not read or move it.</summary>
    private void ThrowIfFenced(string consumerId)
    {
        if (Spec.Type == SubscriptionType.Exclusive && state.State.ExclusiveOwner is { } owner && owner != consumerId)
        {
            throw new OrleansMQException(ErrorCode.ConsumerFenced,
                $"Subscription '{_name}' on '{_topic}' partition {_partition}: consumer '{consumerId}' was fenced; '{owner}' claimed the subscription (epoch {state.State.OwnerEpoch}).");
        }
    }

    private void MarkClosed(string consumerId)
    {
        if (!_closedConsumers.Add(consumerId))
        {
            return;
        }

        _closedOrder.Enqueue(consumerId);
        while (_closedOrder.Count > 1024)
        {
            _closedConsumers.Remove(_closedOrder.Dequeue());
        }
    }

    private void ReleaseLeasesOf(string consumerId, string reason)
    {
        var now = time.GetUtcNow();
        foreach (var lease in _leases.Values.Where(l => l.ConsumerId == consumerId).ToList())
        {
            _leases.Remove(lease.Message.Offset);
            Fail(lease.Message, lease.Attempt, reason, now);
        }
    }

    // ---- choosing deliveries ---------------------------------------------------------------------------------------

    private async Task<List<DeliveredMessage>> CollectAsync(string consumerId, int max)
    {
        // The in-flight cap: an ack, nack, lease expiry or consumer loss frees room and signals waiting receives.
        var room = _options.MaxInFlightPerSubscription - _leases.Count;
        if (room <= 0)
        {
            return [];
        }

        max = Math.Min(max, room);
        var now = time.GetUtcNow();
        RereadSpilledIfDue(now);

        // A read may hold only delayed messages (they go to the delayed set, not the buffer): read on a few times so a
        // long run of them does not stall the messages behind it until the next receive.
        for (var reads = 0; reads < 8 && _buffer.Count < _options.ReadAheadMessages / 2 && (_knownHigh < 0 || _readPosition < _knownHigh); reads++)
        {
            var before = _readPosition;
            await FetchAsync();
            if (_readPosition == before)
            {
                break;
            }
        }

        now = time.GetUtcNow();
        var result = new List<DeliveredMessage>(Math.Min(max, 64));
        if (Spec.Type == SubscriptionType.KeyShared)
        {
            CollectKeyShared(consumerId, max, now, result);
        }
        else
        {
            CollectInOrder(consumerId, max, now, result);
        }

        if (Spec.Transforms is { Count: > 0 } steps && result.Count > 0)
        {
            await ApplyTransformsAsync(result, steps);
        }

        if (_dirty && _write is null)
        {
            // Expired messages were dropped: record it (not awaited; the next ack's write covers it anyway).
            AdvanceFloor();
            _ = PersistSafelyAsync();
        }

        if (_toDeadLetter.Count > 0)
        {
            await FlushDeadLettersAsync();
        }

        return result;
    }

    /// <summary>
    /// Exclusive, Failover, Shared: due redeliveries first (oldest offset first), then new messages in offset order —
    /// except that Shared hands out higher priorities first among the messages read ahead.
    /// </summary>
    private void CollectInOrder(string consumerId, int max, DateTimeOffset now, List<DeliveredMessage> result)
    {
        if (_redeliveries.Count > 0)
        {
            foreach (var (offset, r) in _redeliveries.ToList())
            {
                if (result.Count >= max)
                {
                    break;
                }

                if (r.DueAt <= now)
                {
                    _redeliveries.Remove(offset);
                    Add(result, TryLease(consumerId, r.Message, now));
                }
            }
        }

        if (_buffer.Count == 0 || result.Count >= max)
        {
            return;
        }

        if (Spec.Type == SubscriptionType.Shared && _buffer.Exists(m => m.Priority() > 0))
        {
            // Stable sort: priority descending, offset ascending within a priority.
            var byPriority = _buffer.OrderByDescending(m => m.Priority()).ToList();
            var chosen = new HashSet<long>();
            foreach (var m in byPriority)
            {
                if (result.Count >= max)
                {
                    break;
                }

                chosen.Add(m.Offset);
                Add(result, TryLease(consumerId, m, now));
            }

            _buffer.RemoveAll(m => chosen.Contains(m.Offset));
            return;
        }

        var taken = 0;
        while (taken < _buffer.Count && result.Count < max)
        {
            Add(result, TryLease(consumerId, _buffer[taken], now));
            taken++;
        }

        _buffer.RemoveRange(0, taken);
    }

    private static void Add(List<DeliveredMessage> result, DeliveredMessage? delivery)
    {
        if (delivery is not null)
        {
            result.Add(delivery);
        }
    }

    /// <summary>
    /// KeyShared: a key belongs to one consumer (rendezvous hashing over the live consumers, so few keys move when consumers
    /// come and go), and a message is held back while an earlier message with its key is in flight with another consumer
    /// or waiting for redelivery: per-key order holds across redeliveries and consumer changes.
    /// </summary>
    private void CollectKeyShared(string consumerId, int max, DateTimeOffset now, List<DeliveredMessage> result)
    {
        var holders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var lease in _leases.Values)
        {
            if (lease.Message.Key is { } key)
            {
                holders.TryAdd(key, lease.ConsumerId);
            }
        }

        var blocked = new HashSet<string>(StringComparer.Ordinal);
        var consumers = _consumers.Keys.ToArray();
        var takenFromBuffer = new HashSet<long>();

        bool Eligible(StoredMessage m, bool due)
        {
            if (m.Key is not { } key)
            {
                return due;
            }

            if (blocked.Contains(key) || (holders.TryGetValue(key, out var holder) && holder != consumerId) || !due || Owner(key, consumers) != consumerId)
            {
                blocked.Add(key);
                return false;
            }

            return true;
        }

        // Merge redeliveries and the buffer in offset order so a key's earlier message always gates its later ones.
        var redeliveries = _redeliveries.Values.ToList();
        int ri = 0, bi = 0;
        while (result.Count < max && (ri < redeliveries.Count || bi < _buffer.Count))
        {
            var fromRedelivery = bi >= _buffer.Count || (ri < redeliveries.Count && redeliveries[ri].Message.Offset < _buffer[bi].Offset);
            if (fromRedelivery)
            {
                var r = redeliveries[ri++];
                if (Eligible(r.Message, r.DueAt <= now))
                {
                    _redeliveries.Remove(r.Message.Offset);
                    if (TryLease(consumerId, r.Message, now) is { } d)
                    {
                        result.Add(d);
                        if (r.Message.Key is { } k)
                        {
                            holders[k] = consumerId;
                        }
                    }
                }
            }
            else
            {
                var m = _buffer[bi++];
                if (Eligible(m, due: true))
                {
                    takenFromBuffer.Add(m.Offset);
                    if (TryLease(consumerId, m, now) is { } d)
                    {
                        result.Add(d);
                        if (m.Key is { } k)
                        {
                            holders[k] = consumerId;
                        }
                    }
                }
            }
        }

        if (takenFromBuffer.Count > 0)
        {
            _buffer.RemoveAll(m => takenFromBuffer.Contains(m.Offset));
        }
    }

    private static string Owner(string key, string[] consumers)
    {
        string? best = null;
        uint bestScore = 0;
        foreach (var c in consumers)
        {
            var score = XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(c + "\n" + key));
            if (best is null || score > bestScore || (score == bestScore && string.CompareOrdinal(c, best) < 0))
            {
                best = c;
                bestScore = score;
            }
        }

        return best ?? "";
    }

    /// <summary>Leases a message to a consumer, unless it expired: then it is dropped or dead-lettered instead (null).</summary>
    private DeliveredMessage? TryLease(string consumerId, StoredMessage message, DateTimeOffset now)
    {
        if (message.ExpiresAt(_config!.MessageTtl) is { } expires && expires <= now)
        {
            if (_config.ExpiredToDeadLetter && Spec.MaxDeliveries > 0)
            {
                _toDeadLetter.Add((message, state.State.DeliveryCounts.GetValueOrDefault(message.Offset), $"expired at {expires:O}"));
            }
            else
            {
                MarkAcked(message.Offset);
                _dirty = true;
            }

            return null;
        }

        return Lease(consumerId, message, now);
    }

    /// <summary>Applies the subscription's transforms to what is about to be delivered; a failure dead-letters that message.</summary>
    private async Task ApplyTransformsAsync(List<DeliveredMessage> result, IReadOnlyList<TransformStep> steps)
    {
        for (var i = result.Count - 1; i >= 0; i--)
        {
            var d = result[i];
            var m = d.Message;
            try
            {
                var t = await transforms.ApplyAsync(new Message(m.Body) { Key = m.Key, MessageId = m.MessageId, Headers = m.Headers, ContentType = m.ContentType, Timestamp = m.Timestamp }, steps);
                result[i] = d with { Message = m with { Body = t.Body, Key = t.Key, MessageId = t.MessageId, Headers = t.Headers ?? StoredMessageDefaults.EmptyHeaders, ContentType = t.ContentType } };
            }
            catch (TransformException ex)
            {
                _leases.Remove(m.Offset);
                _toDeadLetter.Add((m, d.DeliveryCount, ex.Message));
                result.RemoveAt(i);
            }
        }
    }

    private DeliveredMessage Lease(string consumerId, StoredMessage message, DateTimeOffset now)
    {
        var counts = state.State.DeliveryCounts;
        var attempt = counts.GetValueOrDefault(message.Offset) + 1;
        counts[message.Offset] = attempt;
        var expires = IsStream ? DateTimeOffset.MaxValue : now + Spec.AckTimeout;
        _leases[message.Offset] = new LeaseEntry(message, consumerId, attempt, expires);
        OrleansMQTelemetry.Delivered.Add(1, TopicTag, SubscriptionTag);
        if (attempt == 1)
        {
            OrleansMQTelemetry.EndToEndLatency.Record((now - message.Timestamp).TotalMilliseconds, TopicTag, SubscriptionTag);
        }

        return new DeliveredMessage { Message = message, DeliveryCount = attempt, Subscription = _name };
    }

    private async Task FetchAsync()
    {
        if (_fetch is not null)
        {
            await _fetch;
            return;
        }

        _fetch = FetchCoreAsync();
        try
        {
            await _fetch;
        }
        finally
        {
            _fetch = null;
        }
    }

    private async Task FetchCoreAsync()
    {
        var epoch = _epoch;
        var from = _readPosition;
        var read = await _partitionGrain.ReadAsync(from, _options.ReadAheadMessages, MaxReadBytes);
        if (epoch != _epoch || from != _readPosition)
        {
            return;
        }

        _knownHigh = Math.Max(_knownHigh, read.HighWatermark);
        var cursor = state.State;
        if (read.LowWatermark > cursor.AckFloor)
        {
            // Retention removed messages this subscription never acknowledged (age or size limit): skip past them.
            LogSkippedByRetention(logger, _topic, _partition, _name, cursor.AckFloor, read.LowWatermark);
            cursor.AckFloor = read.LowWatermark;
            cursor.AckedAbove.RemoveWhere(o => o < read.LowWatermark);
            _dirty = true;
        }

        _readPosition = Math.Max(_readPosition, read.LowWatermark);
        if (read.Messages.Count > 0)
        {
            OrleansMQTelemetry.CursorFilled.Add(read.Messages.Count, TopicTag, SubscriptionTag, new KeyValuePair<string, object?>("source", "read"));
        }

        Accept(read.Messages, time.GetUtcNow());
    }

    // Takes messages read (or pushed) from the partition into the read-ahead buffer, or the delayed set, from the read
    // position on.
    private void Accept(IReadOnlyList<StoredMessage> messages, DateTimeOffset now)
    {
        foreach (var m in messages)
        {
            if (m.Offset < _readPosition)
            {
                continue;
            }

            _readPosition = m.Offset + 1;
            if (!IsAcked(m.Offset) && !_leases.ContainsKey(m.Offset) && !_redeliveries.ContainsKey(m.Offset))
            {
                // Delayed messages wait with the redeliveries until due (Shared/KeyShared; ordered types ignore delays).
                if (!IsStream && m.DeliverAt() is var due && due > now)
                {
                    if (_redeliveries.Count < _options.MaxScheduledInMemory)
                    {
                        _redeliveries[m.Offset] = new Redelivery(m, due);
                    }
                    else if (due < _spilledDue)
                    {
                        // Left in the log; read again when the held set drains or this falls due.
                        _spilledDue = due;
                    }
                }
                else
                {
                    _buffer.Add(m);
                }
            }
        }
    }

    // ---- ack, nack, expiry, dead letters ---------------------------------------------------------------------------

    private OrleansMQException? AckEach(IReadOnlyList<DeliveryTag> tags)
    {
        OrleansMQException? failure = null;
        foreach (var tag in tags)
        {
            if (IsAcked(tag.Offset))
            {
                continue;
            }

            if (_leases.TryGetValue(tag.Offset, out var lease))
            {
                if (lease.Attempt == tag.Attempt)
                {
                    _leases.Remove(tag.Offset);
                    MarkAcked(tag.Offset);
                }
                else
                {
                    failure ??= StaleOrUnknown(tag);
                }
            }
            else if (state.State.DeliveryCounts.TryGetValue(tag.Offset, out var count) && count == tag.Attempt)
            {
                // Its lease lapsed (or the broker restarted) but nobody else got it since: the ack still counts.
                _redeliveries.Remove(tag.Offset);
                if (_buffer.Count > 0)
                {
                    _buffer.RemoveAll(m => m.Offset == tag.Offset);
                }

                MarkAcked(tag.Offset);
            }
            else
            {
                failure ??= StaleOrUnknown(tag);
            }
        }

        return failure;
    }

    private OrleansMQException? AckCumulative(IReadOnlyList<DeliveryTag> tags)
    {
        var upTo = tags.Max(t => t.Offset);
        if (upTo < state.State.AckFloor)
        {
            return null;
        }

        var delivered = _leases.ContainsKey(upTo) || _redeliveries.ContainsKey(upTo) || state.State.DeliveryCounts.ContainsKey(upTo);
        if (!delivered)
        {
            return StaleOrUnknown(tags.First(t => t.Offset == upTo));
        }

        foreach (var offset in _leases.Keys.Where(o => o <= upTo).ToList())
        {
            _leases.Remove(offset);
        }

        foreach (var offset in _redeliveries.Keys.Where(o => o <= upTo).ToList())
        {
            _redeliveries.Remove(offset);
        }

        _buffer.RemoveAll(m => m.Offset <= upTo);
        state.State.AckedAbove.RemoveWhere(o => o <= upTo);
        state.State.AckFloor = Math.Max(state.State.AckFloor, upTo + 1);
        return null;
    }

    private OrleansMQException StaleOrUnknown(DeliveryTag tag)
    {
        var count = state.State.DeliveryCounts.GetValueOrDefault(tag.Offset);
        return count > tag.Attempt || (count == tag.Attempt && !_leases.ContainsKey(tag.Offset))
            ? new OrleansMQException(ErrorCode.DeliveryExpired,
                $"Delivery {tag.Offset}#{tag.Attempt} on '{_topic}/{_partition}/{_name}' expired: the message was released or delivered again (attempt {count}).")
            : new OrleansMQException(ErrorCode.UnknownDelivery,
                $"Delivery {tag.Offset}#{tag.Attempt} on '{_topic}/{_partition}/{_name}' is unknown: it was never delivered on this subscription.");
    }

    private bool IsAcked(long offset) => offset < state.State.AckFloor || state.State.AckedAbove.Contains(offset);

    private KeyValuePair<string, object?> TopicTag => new("topic", _topic);

    private KeyValuePair<string, object?> SubscriptionTag => new("subscription", _name);

    private void MarkAcked(long offset)
    {
        state.State.AckedAbove.Add(offset);
        state.State.DeliveryCounts.Remove(offset);
    }

    private void AdvanceFloor()
    {
        var cursor = state.State;
        while (cursor.AckedAbove.Remove(cursor.AckFloor))
        {
            cursor.AckFloor++;
        }

        if (cursor.DeliveryCounts.Count > 0)
        {
            foreach (var offset in cursor.DeliveryCounts.Keys.Where(o => o < cursor.AckFloor).ToList())
            {
                cursor.DeliveryCounts.Remove(offset);
            }
        }
    }

    private void ExpireLeases(DateTimeOffset now)
    {
        if (IsStream || _leases.Count == 0)
        {
            return;
        }

        List<LeaseEntry>? expired = null;
        foreach (var lease in _leases.Values)
        {
            if (lease.ExpiresAt <= now)
            {
                (expired ??= []).Add(lease);
            }
        }

        if (expired is null)
        {
            return;
        }

        foreach (var lease in expired)
        {
            _leases.Remove(lease.Message.Offset);
            Fail(lease.Message, lease.Attempt, $"ack timeout ({Spec.AckTimeout}) expired", now);
        }
    }

    /// <summary>A delivery failed (nack, lease expiry, consumer gone): redeliver at <paramref name="dueAt"/>, or dead-letter after max deliveries.</summary>
    private void Fail(StoredMessage message, int attempt, string reason, DateTimeOffset dueAt)
    {
        if (Spec.MaxDeliveries > 0 && attempt >= Spec.MaxDeliveries)
        {
            _toDeadLetter.Add((message, attempt, reason));
        }
        else
        {
            _redeliveries[message.Offset] = new Redelivery(message, dueAt);
        }
    }

    private async Task FlushDeadLettersAsync()
    {
        if (_toDeadLetter.Count == 0)
        {
            return;
        }

        var batch = _toDeadLetter.ToList();
        _toDeadLetter.Clear();
        var epoch = _epoch;
        var dlqTopic = Spec.DeadLetterTopicFor(_topic, _name);
        var messages = batch.Select(d => new Message(d.Message.Body)
        {
            Key = d.Message.Key,
            MessageId = d.Message.MessageId,
            ContentType = d.Message.ContentType,
            Timestamp = d.Message.Timestamp,
            Headers = new Dictionary<string, string>(d.Message.Headers, StringComparer.Ordinal)
            {
                [Headers.DeadLetterReason] = Truncate(d.Reason),
                [Headers.OriginalTopic] = _topic,
                [Headers.OriginalPartition] = _partition.ToString(CultureInfo.InvariantCulture),
                [Headers.OriginalOffset] = d.Message.Offset.ToString(CultureInfo.InvariantCulture),
                [Headers.OriginalSubscription] = _name,
                [Headers.DeliveryCount] = d.Attempt.ToString(CultureInfo.InvariantCulture),
            },
        }).ToList();
        try
        {
            await GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(dlqTopic, 0)).AppendAsync(new AppendRequest { Messages = messages });
        }
        catch (Exception ex) when (ex is OrleansMQException or TimeoutException)
        {
            LogDeadLetterFailed(logger, ex, _topic, _partition, _name, dlqTopic);
            if (epoch == _epoch)
            {
                var retryAt = time.GetUtcNow() + Spec.NackBackoffMax;
                foreach (var d in batch)
                {
                    _redeliveries[d.Message.Offset] = new Redelivery(d.Message, retryAt);
                }
            }

            return;
        }

        if (epoch != _epoch)
        {
            return;
        }

        foreach (var d in batch)
        {
            MarkAcked(d.Message.Offset);
            LogDeadLettered(logger, _topic, _partition, _name, d.Message.Offset, d.Attempt, d.Reason);
        }

        state.State.DeadLettered += batch.Count;
        OrleansMQTelemetry.DeadLettered.Add(batch.Count, TopicTag, SubscriptionTag);
        AdvanceFloor();
        await PersistAsync();
    }

    private static string Truncate(string reason) => reason.Length <= 1024 ? reason : reason[..1024];

    /// <summary>
    /// Delayed messages were left in the log because the held set was full: once it has drained to half, or the earliest
    /// left-out one is due, read again from the ack floor. What is acked, leased or held is skipped by
    /// <see cref="Accept"/>; the read-ahead buffer is dropped and refilled in offset order.
    /// </summary>
    private void RereadSpilledIfDue(DateTimeOffset now)
    {
        if (_spilledDue == DateTimeOffset.MaxValue || _fetch is not null
            || (_redeliveries.Count > _options.MaxScheduledInMemory / 2 && now < _spilledDue))
        {
            return;
        }

        LogRereadingScheduled(logger, _topic, _partition, _name, _redeliveries.Count, state.State.AckFloor);
        _spilledDue = DateTimeOffset.MaxValue;
        _buffer = [];
        _readPosition = state.State.AckFloor;
    }

    private TimeSpan? NextDueIn(DateTimeOffset now)
    {
        var next = _spilledDue;
        foreach (var r in _redeliveries.Values)
        {
            next = r.DueAt < next ? r.DueAt : next;
        }

        if (!IsStream)
        {
            foreach (var l in _leases.Values)
            {
                next = l.ExpiresAt < next ? l.ExpiresAt : next;
            }
        }

        return next == DateTimeOffset.MaxValue ? null : next <= now ? TimeSpan.Zero : next - now;
    }

    // ---- waiting, persistence ----------------------------------------------------------------------------------------

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Signal()
    {
        // Every state change that moves the lag (new messages known, acks, seeks) signals, so the gauge follows it here.
        if (_lagGauge is { } lag && _knownHigh >= 0)
        {
            lag.Set(Math.Max(0, _knownHigh - state.State.AckFloor - state.State.AckedAbove.Count));
        }

        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    /// <summary>Waits for a change (new messages, acks, consumers), at most <paramref name="maxWait"/> of real time, or until the next lease/redelivery is due on the broker clock.</summary>
    private async Task WaitForChangeAsync(TimeSpan maxWait, TimeSpan? dueIn)
    {
        using var cts = new CancellationTokenSource();
        var changed = _changed.Task;
        var timeout = Task.Delay(maxWait, cts.Token);
        var due = dueIn is { } d ? Task.Delay(d, time, cts.Token) : Task.Delay(Timeout.Infinite, cts.Token);
        await Task.WhenAny(changed, timeout, due);
        await cts.CancelAsync();
    }

    /// <summary>
    /// Coalesces state writes (group commit for cursors): one write in flight, at most one started per
    /// <see cref="OrleansMQServerOptions.CursorPersistInterval"/>, and everything changed meanwhile goes in the next one.
    /// Completes when a write that includes the caller's change is durable.
    /// </summary>
    private Task PersistAsync()
    {
        _dirty = true;
        var next = _nextWrite ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _write ??= WriteLoopAsync();
        return next.Task;
    }

    private async Task PersistSafelyAsync()
    {
        try
        {
            await PersistAsync();
        }
        catch (Exception ex)
        {
            LogPersistFailed(logger, ex, _topic, _partition, _name);
        }
    }

    private async Task WriteLoopAsync()
    {
        // Yield first so _write is assigned before the loop can finish (a storage that completes synchronously
        // would otherwise leave a completed task in _write and later writes would be skipped).
        await Task.Yield();
        try
        {
            while (_dirty)
            {
                // Real time, not the grain's TimeProvider: this paces disk writes, it is not broker logic.
                var wait = _options.CursorPersistInterval - System.Diagnostics.Stopwatch.GetElapsedTime(_lastWriteStarted);
                if (wait > TimeSpan.Zero && !_persistNow)
                {
                    await Task.Delay(wait);
                }

                _dirty = false;
                var completing = _nextWrite;
                _nextWrite = null;
                if (_config is null)
                {
                    completing?.TrySetResult();
                    return;
                }

                _lastWriteStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await state.WriteStateAsync();
                }
                catch (Exception ex)
                {
                    completing?.TrySetException(ex);
                    if (_nextWrite is { } later)
                    {
                        _nextWrite = null;
                        later.TrySetException(ex);
                    }

                    throw;
                }

                completing?.TrySetResult();
                OrleansMQTelemetry.SubscriptionStateWrites.Add(1, TopicTag, SubscriptionTag);
                var floor = state.State.AckFloor;
                if (floor != _reportedFloor)
                {
                    _reportedFloor = floor;
                    _ = _partitionGrain.ReportAckFloorAsync(_name, floor);
                }
            }
        }
        finally
        {
            _write = null;
        }
    }

    // ---- push to a subscriber grain -----------------------------------------------------------------------------------

    private void StopPush()
    {
        if (_pushStop is { } stop)
        {
            stop.Cancel();
            stop.Dispose();
            _pushStop = null;
            _pushTarget = null;
            _consumers.Remove(PushConsumerId);
            ReleaseLeasesOf(PushConsumerId, "subscriber detached");
            Signal();
        }
    }

    private async Task PushLoopAsync(IMessageConsumerGrain subscriber, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                DelayDeactivation(TimeSpan.FromMinutes(5));
                var now = time.GetUtcNow();
                Touch(PushConsumerId, now);
                ExpireLeases(now);
                await FlushDeadLettersAsync();
                var batch = await CollectAsync(PushConsumerId, _options.PushBatchSize);
                if (cancellationToken.IsCancellationRequested)
                {
                    ReleaseLeasesOf(PushConsumerId, "subscriber detached");
                    return;
                }

                if (batch.Count == 0)
                {
                    await WaitForChangeAsync(TimeSpan.FromSeconds(5), NextDueIn(now));
                    continue;
                }

                var tags = batch.Select(d => d.Tag).ToList();
                try
                {
                    await subscriber.OnMessagesAsync(new MessageBatch { Topic = _topic, Subscription = _name, Partition = _partition, Messages = batch });
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    LogPushFailed(logger, ex, _topic, _partition, _name);
                    await NackAsync(PushConsumerId, tags, $"{ex.GetType().Name}: {ex.Message}");
                    continue;
                }

                await AckAsync(PushConsumerId, tags);
            }
            catch (OrleansMQException ex) when (ex.Code is ErrorCode.DeliveryExpired or ErrorCode.UnknownDelivery)
            {
                // The lease lapsed while the subscriber worked; the message will be pushed again.
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && _config is not null)
            {
                LogPushFailed(logger, ex, _topic, _partition, _name);
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested || _config is null)
            {
                return;
            }
        }
    }

    private sealed class ConsumerSession(string id, long order)
    {
        public string Id { get; } = id;

        public long Order { get; } = order;

        public DateTimeOffset LastSeen { get; set; }
    }

    private sealed record LeaseEntry(StoredMessage Message, string ConsumerId, int Attempt, DateTimeOffset ExpiresAt);

    private sealed record Redelivery(StoredMessage Message, DateTimeOffset DueAt);

    [LoggerMessage(1220, LogLevel.Information, "Subscription {Topic}/{Partition}/{Subscription} claimed by {ConsumerId} (epoch {Epoch}); other consumers are fenced")]
    private static partial void LogClaimed(ILogger logger, string topic, int partition, string subscription, string consumerId, long epoch);

    [LoggerMessage(1201, LogLevel.Information, "Subscription {Topic}/{Partition}/{Subscription} moved to offset {Offset}")]
    private static partial void LogSeek(ILogger logger, string topic, int partition, string subscription, long offset);

    [LoggerMessage(1202, LogLevel.Warning, "Dead-lettered {Topic}/{Partition}/{Subscription} offset {Offset} after {Attempts} deliveries: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string topic, int partition, string subscription, long offset, int attempts, string reason);

    [LoggerMessage(1203, LogLevel.Error, "Could not dead-letter from {Topic}/{Partition}/{Subscription} to {DeadLetterTopic}; will retry")]
    private static partial void LogDeadLetterFailed(ILogger logger, Exception exception, string topic, int partition, string subscription, string deadLetterTopic);

    [LoggerMessage(1204, LogLevel.Warning, "Push to the subscriber of {Topic}/{Partition}/{Subscription} failed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, string topic, int partition, string subscription);

    [LoggerMessage(1206, LogLevel.Warning, "Could not save the cursor of {Topic}/{Partition}/{Subscription}; it is saved with the next ack")]
    private static partial void LogPersistFailed(ILogger logger, Exception exception, string topic, int partition, string subscription);

    [LoggerMessage(1205, LogLevel.Warning, "Retention removed unacknowledged messages of {Topic}/{Partition}/{Subscription}: skipping {From}..{To}")]
    private static partial void LogSkippedByRetention(ILogger logger, string topic, int partition, string subscription, long from, long to);

    [LoggerMessage(1207, LogLevel.Debug, "Subscription {Topic}/{Partition}/{Subscription} reads delayed messages left in the log again from offset {AckFloor} ({Held} held in memory)")]
    private static partial void LogRereadingScheduled(ILogger logger, string topic, int partition, string subscription, int held, long ackFloor);
}
