using System.Collections.Concurrent;
using System.Threading.Channels;
using OrleansMQ.Client;

namespace OrleansMQ.Gateway.Http.Pull;

/// <summary>
/// The state behind stateless HTTP pull-consume for one (topic, subscription, consumer id): an <see cref="IConsumer"/>
/// whose deliveries are buffered until an HTTP receive takes them, and the deliveries handed out but not yet settled.
/// Handed-out deliveries stay leased; one not settled within the subscription's ack timeout is released here too, so
/// the consumer's credit is never lost to an HTTP client that went away.
/// </summary>
internal sealed class PullSession : IAsyncDisposable
{
    private readonly IConsumer _consumer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ackTimeout;
    private readonly Channel<Delivery> _ready = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly ConcurrentDictionary<DeliveryId, (Delivery Delivery, long HandedOutAt)> _outstanding = new();
    private readonly SemaphoreSlim _receiving = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private long _lastUsed;
    private int _receivers;
    private int _disposed;

    public PullSession(IConsumer consumer, TimeSpan ackTimeout, TimeProvider time)
    {
        _consumer = consumer;
        _ackTimeout = ackTimeout;
        _time = time;
        _lastUsed = time.GetTimestamp();
        _pump = PumpAsync();
    }

    public string ConsumerId => _consumer.ConsumerId;

    /// <summary>How long nobody used the session; zero while a receive (a long poll) is in progress.</summary>
    public TimeSpan IdleFor => Volatile.Read(ref _receivers) > 0 ? TimeSpan.Zero : _time.GetElapsedTime(Interlocked.Read(ref _lastUsed));

    /// <summary>The principal's session and subscription slots (see <c>GatewayConnectionLimiter</c>), released when the session closes.</summary>
    public IDisposable? Slots { get; init; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Takes up to <paramref name="max"/> deliveries, waiting up to <paramref name="wait"/> for the first.</summary>
    public async Task<IReadOnlyList<Delivery>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        Touch();
        Interlocked.Increment(ref _receivers);
        try
        {
            return await ReceiveOneAtATimeAsync(max, wait, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _receivers);
            Touch();
        }
    }

    private async Task<IReadOnlyList<Delivery>> ReceiveOneAtATimeAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        await _receiving.WaitAsync(cancellationToken);
        try
        {
            var taken = new List<Delivery>();
            if (!_ready.Reader.TryPeek(out _) && wait > TimeSpan.Zero)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(wait);
                try
                {
                    await _ready.Reader.WaitToReadAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Waited long enough: an empty answer.
                }
            }

            while (taken.Count < max && _ready.Reader.TryRead(out var delivery))
            {
                _outstanding[DeliveryId.Of(delivery)] = (delivery, _time.GetTimestamp());
                taken.Add(delivery);
            }

            if (taken.Count == 0 && _ready.Reader.Completion is { IsFaulted: true } failed)
            {
                // The consumer could not start or stopped (subscription deleted, consumer busy, ...).
                throw failed.Exception!.GetBaseException();
            }

            return taken;
        }
        finally
        {
            _receiving.Release();
        }
    }

    /// <summary>The delivery handed out under <paramref name="id"/>, removed from the outstanding set; null when this session does not hold it.</summary>
    public Delivery? Take(DeliveryId id)
    {
        Touch();
        return _outstanding.TryRemove(id, out var entry) ? entry.Delivery : null;
    }

    /// <summary>Nacks handed-out deliveries older than the ack timeout (the broker has taken their lease back by now), freeing their credit.</summary>
    public void ReleaseOverdue()
    {
        foreach (var (id, entry) in _outstanding)
        {
            if (_time.GetElapsedTime(entry.HandedOutAt) > _ackTimeout && _outstanding.TryRemove(id, out _))
            {
                _ = entry.Delivery.NackAsync("not acknowledged over HTTP within the ack timeout").ContinueWith(
                    static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _stop.CancelAsync();
            await _consumer.DisposeAsync();
            await _pump;
            _stop.Dispose();
        }
        finally
        {
            Slots?.Dispose();
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastUsed, _time.GetTimestamp());

    private async Task PumpAsync()
    {
        await Task.Yield();
        try
        {
            await foreach (var delivery in _consumer.ConsumeAsync(_stop.Token))
            {
                _ready.Writer.TryWrite(delivery);
            }

            _ready.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            _ready.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _ready.Writer.TryComplete(ex);
        }
    }
}
