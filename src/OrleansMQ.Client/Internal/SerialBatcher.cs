namespace OrleansMQ.Client.Internal;

/// <summary>
/// Sends items in batches with at most one batch in flight: items added while a batch is being sent wait and go out
/// together in the next one (natural batching, like Nagle), so throughput follows the round-trip time and order is kept.
/// An optional linger delays the first send of an idle batcher so a burst can gather.
/// </summary>
/// <remarks>
/// Grouping (<c>groupTime</c> &gt; 0, Pulsar's <c>acknowledgmentGroupTime</c>): an item added with <c>hurry: false</c> may
/// wait until <c>groupTime</c> has passed since the previous send started (or, from idle, since it was added), so a
/// steady stream of such items costs at most one send per <c>groupTime</c>. Adding a hurried item, or
/// <see cref="FlushAsync"/>, sends everything waiting at once (after the send in flight, as always).
/// </remarks>
internal sealed class SerialBatcher<TItem, TResult>
{
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _send;
    private readonly Func<TItem, int> _sizeOf;
    private readonly int _maxItems;
    private readonly int _maxBytes;
    private readonly TimeSpan _linger;
    private readonly TimeSpan _groupTime;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private List<Pending> _queue = [];
    private bool _sending;
    private bool _hurry;
    private long _windowStart;
    private TaskCompletionSource? _wake;
    private TaskCompletionSource? _idle;

    public SerialBatcher(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> send, int maxItems, int maxBytes, TimeSpan linger,
        Func<TItem, int>? sizeOf = null, TimeSpan groupTime = default, TimeProvider? timeProvider = null)
    {
        _send = send;
        _maxItems = maxItems;
        _maxBytes = maxBytes;
        _linger = linger;
        _groupTime = groupTime;
        _time = timeProvider ?? TimeProvider.System;
        _sizeOf = sizeOf ?? (_ => 1);
    }

    /// <summary>Queues <paramref name="item"/>; the task completes with its result once its batch was sent.</summary>
    /// <param name="item">The item.</param>
    /// <param name="hurry">False: the item may wait for the group time (see the remarks); true: send it as soon as possible.</param>
    public Task<TResult> AddAsync(TItem item, bool hurry = true)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            _queue.Add(pending);
            start = !_sending;
            if (start)
            {
                _windowStart = _time.GetTimestamp();
            }

            _sending = true;
            if (hurry || _groupTime <= TimeSpan.Zero)
            {
                _hurry = true;
                wake = _wake;
                _wake = null;
            }
        }

        wake?.TrySetResult();
        if (start)
        {
            _ = Task.Run(SendLoopAsync);
        }

        return pending.Completion.Task;
    }

    /// <summary>Completes when everything added so far was sent (successfully or not); items waiting for their group time go at once.</summary>
    public Task FlushAsync()
    {
        TaskCompletionSource? wake;
        Task idle;
        lock (_lock)
        {
            if (!_sending)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
            _hurry = true;
            wake = _wake;
            _wake = null;
        }

        wake?.TrySetResult();
        return idle;
    }

    private async Task SendLoopAsync()
    {
        if (_linger > TimeSpan.Zero)
        {
            await Task.Delay(_linger, _time).ConfigureAwait(false);
        }

        while (true)
        {
            List<Pending> batch;
            Task? wake = null;
            var wait = TimeSpan.Zero;
            var windowStart = 0L;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    _sending = false;
                    _hurry = false;
                    _idle?.TrySetResult();
                    _idle = null;
                    return;
                }

                if (!_hurry && (wait = _groupTime - _time.GetElapsedTime(_windowStart)) > TimeSpan.Zero)
                {
                    _wake ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = _wake.Task;
                    windowStart = _windowStart;
                    batch = [];
                }
                else
                {
                    batch = Take();
                    _hurry &= _queue.Count > 0;
                    _windowStart = _time.GetTimestamp();
                }
            }

            if (wake is not null)
            {
                // Until the group time is up, or a hurried item (or a flush) comes.
                using var timeout = new CancellationTokenSource(wait, _time);
                // The clock may have moved on since the wait was computed (the timer counts from its creation).
                if (_time.GetElapsedTime(windowStart) < _groupTime)
                {
                    await Task.WhenAny(wake, Task.Delay(Timeout.InfiniteTimeSpan, timeout.Token)).ConfigureAwait(false);
                }

                continue;
            }

            try
            {
                var results = await _send(batch.ConvertAll(p => p.Item), CancellationToken.None).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var p in batch)
                {
                    p.Completion.TrySetException(ex);
                }
            }
        }
    }

    private List<Pending> Take() => BatchTaker.Take(ref _queue, _maxItems, _maxBytes, p => _sizeOf(p.Item));

    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Completion);
}
