using System.Runtime.CompilerServices;
using System.Threading.Channels;
using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>
/// One long-poll loop per partition. Each loop asks for no more than its share of the credit minus what it already has
/// outstanding, so a slow consumer is never flooded; acks are batched per partition and free the credit again.
/// </summary>
internal sealed class Consumer : IConsumer
{
    private readonly IGrainFactory _grains;
    private readonly TopicCache _topics;
    private readonly ConsumerOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<Delivery> _channel = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _budgetTurn = new(1, 1);
    private PartitionReader[] _readers = [];
    private int _started;
    private long _budget;

    public Consumer(IOrleansMQClient client, IGrainFactory grains, TopicCache topics, string topic, string subscription, ConsumerOptions options)
    {
        Client = client;
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        options.Validate();
        _grains = grains;
        _topics = topics;
        _options = options;
        Topic = topic;
        Subscription = subscription;
        ConsumerId = options.ConsumerId ?? Guid.NewGuid().ToString("N");
        _budget = options.MaxMessages ?? long.MaxValue;
    }

    public string Topic { get; }

    public string Subscription { get; }

    internal IOrleansMQClient Client { get; }

    public string ConsumerId { get; }

    public async IAsyncEnumerable<Delivery> ConsumeAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new OrleansMQException(ErrorCode.InvalidOperation, "ConsumeAsync can be called once per consumer.");
        }

        await StartAsync().ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        while (true)
        {
            Delivery delivery;
            try
            {
                if (!await _channel.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
                {
                    yield break;
                }

                if (!_channel.Reader.TryRead(out delivery!))
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            yield return delivery;
        }
    }

    internal Task AckAsync(Delivery delivery, CancellationToken cancellationToken) =>
        _readers[delivery.Partition].AckAsync(delivery.Delivered.Tag).WaitAsync(cancellationToken);

    internal void Ack(Delivery delivery) => _readers[delivery.Partition].Ack(delivery.Delivered.Tag);

    internal Task NackAsync(Delivery delivery, string? reason, CancellationToken cancellationToken) =>
        _readers[delivery.Partition].NackAsync(delivery.Delivered.Tag, reason).WaitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _channel.Writer.TryComplete();
        await Task.WhenAll(_readers.Select(r => r.StopAsync())).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task StartAsync()
    {
        var topic = await _topics.GetAsync(Topic).ConfigureAwait(false);
        if (!topic.Subscriptions.ContainsKey(Subscription))
        {
            if (_options.CreateIfMissing is not { } spec)
            {
                throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{Subscription}' on topic '{Topic}' does not exist.");
            }

            await _grains.GetGrain<ITopicGrain>(Topic).CreateSubscriptionAsync(Subscription, spec).ConfigureAwait(false);
            _topics.Invalidate(Topic);
        }

        var partitions = topic.Spec.Partitions;
        var share = Math.Max(1, (_options.Prefetch + partitions - 1) / partitions);
        _readers = [.. Enumerable.Range(0, partitions).Select(p => new PartitionReader(this, p, share))];
        foreach (var reader in _readers)
        {
            reader.Start();
        }
    }

    private void Fail(Exception error) => _channel.Writer.TryComplete(error);

    // ConsumerOptions.MaxMessages: the partitions' polls take turns (SemaphoreSlim serves waiters in order, so no
    // partition starves), and each asks for no more than what is left, so together they never lease more than the limit.
    private bool Limited => _options.MaxMessages is not null;

    private sealed class PartitionReader
    {
        private readonly Consumer _owner;
        private readonly ISubscriptionGrain _grain;
        private readonly int _credit;
        private readonly SerialBatcher<DeliveryTag, OrleansMQException?> _acks;
        private readonly SemaphoreSlim _creditFreed = new(0);
        private readonly Lock _pollGate = new();
        private int _outstanding;
        private bool _polling;
        private Task _loop = Task.CompletedTask;

        public PartitionReader(Consumer owner, int partition, int credit)
        {
            _owner = owner;
            _credit = credit;
            _grain = owner._grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(owner.Topic, partition, owner.Subscription));
            _acks = new SerialBatcher<DeliveryTag, OrleansMQException?>(SendAcksAsync, 1000, int.MaxValue, TimeSpan.Zero, groupTime: owner._options.AckGroupTime);
        }

        public void Start() => _loop = Task.Run(PollLoopAsync);

        public async Task AckAsync(DeliveryTag tag)
        {
            // Credit comes back as soon as the ack is on its way, not when the broker has persisted it: waiting for the
            // cursor write would cap each partition at credit / ack round trip (acks are idempotent; a lost one is a
            // redelivery, which at-least-once allows).
            var sent = _acks.AddAsync(tag);
            Release();
            if (await sent.ConfigureAwait(false) is { } error)
            {
                throw error;
            }
        }

        public void Ack(DeliveryTag tag)
        {
            var sent = _acks.AddAsync(tag, hurry: false);
            Release();
            // Nobody awaits it: a failed ack is a redelivery (at-least-once), so only observe the outcome.
            _ = sent.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public async Task NackAsync(DeliveryTag tag, string? reason)
        {
            try
            {
                await RetryAsync(() => _grain.NackAsync(_owner.ConsumerId, [tag], reason)).ConfigureAwait(false);
            }
            finally
            {
                Release();
            }
        }

        /// <summary>
        /// Leaves without waiting out a long poll: pending acks go first (so what was processed is not redelivered),
        /// then, if a receive is parked at the broker, closing the session wakes it; once the loop has ended, closing
        /// (again) returns this consumer's leases to the subscription at once.
        /// Disposal never throws: a broker that cannot be reached times the session out instead.
        /// </summary>
        public async Task StopAsync()
        {
            await _acks.FlushAsync().ConfigureAwait(false);
            bool polling;
            lock (_pollGate)
            {
                // The stop token is already cancelled, so the loop starts no new receive after this point.
                polling = _polling;
            }

            if (polling)
            {
                await CloseQuietlyAsync().ConfigureAwait(false);
            }

            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Stopping: a receive that failed after the stop began (the broker answering a closed consumer, a silo
                // going away) is of no interest any more, and a failure before it already ended ConsumeAsync with
                // that error. Disposing never throws it (again).
            }

            await CloseQuietlyAsync().ConfigureAwait(false);
        }

        private async Task CloseQuietlyAsync()
        {
            try
            {
                await _grain.CloseConsumerAsync(_owner.ConsumerId).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OrleansMQException || Transient.IsTransient(ex))
            {
                // The broker will time the session out instead (or the subscription is gone).
            }
        }

        private void Release()
        {
            Interlocked.Decrement(ref _outstanding);
            _creditFreed.Release();
        }

        private async Task<IReadOnlyList<OrleansMQException?>> SendAcksAsync(IReadOnlyList<DeliveryTag> tags, CancellationToken cancellationToken)
        {
            var results = new OrleansMQException?[tags.Count];
            try
            {
                await RetryAsync(() => _grain.AckAsync(_owner.ConsumerId, tags)).ConfigureAwait(false);
                return results;
            }
            catch (OrleansMQException) when (tags.Count > 1)
            {
                // Acks are idempotent, so find out which ones failed by acking one at a time.
            }

            for (var i = 0; i < tags.Count; i++)
            {
                try
                {
                    await RetryAsync(() => _grain.AckAsync(_owner.ConsumerId, [tags[i]])).ConfigureAwait(false);
                }
                catch (OrleansMQException ex)
                {
                    results[i] = ex;
                }
            }

            return results;
        }

        private static async Task RetryAsync(Func<Task> call)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await call().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (Transient.IsTransient(ex) && attempt < 5)
                {
                    await Task.Delay(Transient.Backoff(attempt)).ConfigureAwait(false);
                }
            }
        }

        private void ReleaseTurn(ref bool holdsTurn)
        {
            if (holdsTurn)
            {
                holdsTurn = false;
                _owner._budgetTurn.Release();
            }
        }

        private async Task PollLoopAsync()
        {
            var token = _owner._stop.Token;
            var attempt = 0;
            while (!token.IsCancellationRequested)
            {
                var free = _credit - Volatile.Read(ref _outstanding);
                if (free <= 0)
                {
                    try
                    {
                        await _creditFreed.WaitAsync(token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                var holdsTurn = false;
                if (_owner.Limited)
                {
                    try
                    {
                        await _owner._budgetTurn.WaitAsync(token).ConfigureAwait(false);
                        holdsTurn = true;
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }

                var asked = _owner.Limited ? (int)Math.Min(free, Interlocked.Read(ref _owner._budget)) : free;
                if (asked == 0)
                {
                    ReleaseTurn(ref holdsTurn);
                    return; // MaxMessages leased: nothing more to ask for
                }

                lock (_pollGate)
                {
                    if (token.IsCancellationRequested)
                    {
                        ReleaseTurn(ref holdsTurn);
                        return;
                    }

                    _polling = true;
                }

                ReceiveResult result;
                try
                {
                    result = await _grain.ReceiveAsync(_owner.ConsumerId, asked, _owner._options.PollWait).ConfigureAwait(false);
                    Interlocked.Add(ref _owner._budget, -result.Messages.Count);
                    attempt = 0;
                }
                catch (Exception ex) when (Transient.IsTransient(ex) && !token.IsCancellationRequested)
                {
                    ReleaseTurn(ref holdsTurn);
                    await DelayAsync(Transient.Backoff(attempt++), token).ConfigureAwait(false);
                    continue;
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    ReleaseTurn(ref holdsTurn);
                    _owner.Fail(ex);
                    return;
                }
                finally
                {
                    ReleaseTurn(ref holdsTurn);
                    lock (_pollGate)
                    {
                        _polling = false;
                    }
                }

                if (token.IsCancellationRequested)
                {
                    // We left while the poll was answered: give the messages straight back.
                    return;
                }

                Interlocked.Add(ref _outstanding, result.Messages.Count);
                foreach (var m in result.Messages)
                {
                    _owner._channel.Writer.TryWrite(new Delivery(_owner, m));
                }
            }
        }

        private static async Task DelayAsync(TimeSpan delay, CancellationToken token)
        {
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
