using System.Collections.Concurrent;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// The open logs of one factory: at most one instance per partition. Opening a partition again disposes the older
/// instance first (waiting for its appends), opens are serialized per partition, and disposing closes every open log.
/// Shared by the file and Azure backends.
/// </summary>
internal sealed class OpenLogRegistry<TLog>(object owner)
    where TLog : class, IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Topic, int Partition), TLog> _open = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), SemaphoreSlim> _gates = new();
    private int _disposed;

    /// <summary>Opens <paramref name="topic"/>/<paramref name="partition"/> with <paramref name="open"/>, replacing any open instance.</summary>
    public async ValueTask<TLog> OpenAsync(string topic, int partition, Func<Task<TLog>> open, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var key = (topic, partition);
        var gate = _gates.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (_open.TryGetValue(key, out var previous))
            {
                await previous.DisposeAsync().ConfigureAwait(false);
            }

            var log = await open().ConfigureAwait(false);
            _open[key] = log;
            return log;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Forgets <paramref name="log"/> (a log calls this when it is disposed), unless another instance replaced it.</summary>
    public void Unregister(string topic, int partition, TLog log) => _open.TryRemove(KeyValuePair.Create((topic, partition), log));

    /// <summary>Closes every open log; returns false when the registry was disposed already.</summary>
    public async ValueTask<bool> DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        foreach (var log in _open.Values)
        {
            await log.DisposeAsync().ConfigureAwait(false);
        }

        return true;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, owner);
}
