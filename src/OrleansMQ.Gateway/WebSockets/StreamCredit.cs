namespace OrleansMQ.Gateway.WebSockets;

/// <summary>
/// The credit a WebSocket stream client granted and the gateway has not spent yet. Partition polls reserve a share of
/// it before asking the broker for messages (so the broker never leases more than the client granted), spend what was
/// delivered and hand back the rest. Waiting polls are served first come, first served, so with little credit the
/// partitions take turns instead of one partition keeping it.
/// </summary>
internal sealed class StreamCredit(int partitions, int maxCredit, int maxTake)
{
    private readonly object _gate = new();
    private readonly Queue<TaskCompletionSource<int>> _waiters = new();
    private long _available;
    private long _reserved;

    /// <summary>Credit granted and not spent: available plus reserved by polls in progress.</summary>
    public long Unspent
    {
        get
        {
            lock (_gate)
            {
                return _available + _reserved;
            }
        }
    }

    /// <summary>Adds <paramref name="credit"/>. InvalidArgument when the unspent credit would exceed the maximum.</summary>
    public void Grant(int credit)
    {
        lock (_gate)
        {
            if (_available + _reserved + credit > maxCredit)
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument,
                    $"credit {credit} would raise the unspent credit ({_available + _reserved}) above the maximum {maxCredit}.");
            }

            _available += credit;
            ServeWaiters();
        }
    }

    /// <summary>Reserves a share of the available credit (at least 1), waiting until there is some.</summary>
    public Task<int> ReserveAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<int> waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available > 0)
            {
                return Task.FromResult(Take());
            }

            waiter = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken));
            _ = waiter.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return waiter.Task;
    }

    /// <summary>Settles a reservation of <paramref name="reserved"/>: <paramref name="spent"/> went to deliveries, the rest is available again.</summary>
    public void Settle(int reserved, int spent)
    {
        lock (_gate)
        {
            _reserved -= reserved;
            _available += reserved - spent;
            ServeWaiters();
        }
    }

    private void ServeWaiters()
    {
        while (_available > 0 && _waiters.TryDequeue(out var waiter))
        {
            var share = Take();
            if (!waiter.TrySetResult(share))
            {
                // Cancelled while queued: the credit stays here.
                _available += share;
                _reserved -= share;
            }
        }
    }

    private int Take()
    {
        // An even split across the partitions (rounded up), so one poll does not take credit the others could use.
        var share = (int)Math.Min(Math.Min(_available, maxTake), Math.Max(1, (_available + partitions - 1) / partitions));
        _available -= share;
        _reserved += share;
        return share;
    }
}
