namespace OrleansMQ.Client.Internal;

/// <summary>
/// Sends items in batches with at most one batch in flight: items added while a batch is being sent wait and go out
/// together in the next one (natural batching, like Nagle), so throughput follows the round-trip time and order is kept.
/// An optional linger delays the first send of an idle batcher so a burst can gather.
/// </summary>
internal sealed class SerialBatcher<TItem, TResult>
{
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _send;
    private readonly Func<TItem, int> _sizeOf;
    private readonly int _maxItems;
    private readonly int _maxBytes;
    private readonly TimeSpan _linger;
    private readonly Lock _lock = new();
    private List<Pending> _queue = [];
    private bool _sending;
    private TaskCompletionSource? _idle;

    public SerialBatcher(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> send, int maxItems, int maxBytes, TimeSpan linger, Func<TItem, int>? sizeOf = null)
    {
        _send = send;
        _maxItems = maxItems;
        _maxBytes = maxBytes;
        _linger = linger;
        _sizeOf = sizeOf ?? (_ => 1);
    }

    public Task<TResult> AddAsync(TItem item)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_lock)
        {
            _queue.Add(pending);
            start = !_sending;
            _sending = true;
        }

        if (start)
        {
            _ = Task.Run(SendLoopAsync);
        }

        return pending.Completion.Task;
    }

    /// <summary>Completes when everything added so far was sent (successfully or not).</summary>
    public Task FlushAsync()
    {
        lock (_lock)
        {
            if (!_sending)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private async Task SendLoopAsync()
    {
        if (_linger > TimeSpan.Zero)
        {
            await Task.Delay(_linger).ConfigureAwait(false);
        }

        while (true)
        {
            List<Pending> batch;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    _sending = false;
                    _idle?.TrySetResult();
                    _idle = null;
                    return;
                }

                batch = Take();
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
