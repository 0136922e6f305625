using System.Collections.Concurrent;

namespace OrleansMQ.Client;

/// <summary>
/// Request–reply for one client: a private reply topic (<c>omq.replies.{id}</c>, one partition, short retention) read by
/// an Exclusive subscription; replies are matched to waiting requests by correlation id. Created on the first request,
/// deleted when the client is disposed.
/// </summary>
internal sealed class ReplyListener(IOrleansMQClient client) : IAsyncDisposable
{
    private const string Subscription = "replies";
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StoredMessage>> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private IConsumer? _consumer;
    private Task? _loop;

    public string Topic { get; } = $"omq.replies.{Guid.NewGuid():N}";

    public async Task<StoredMessage> RequestAsync(string topic, Message request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (timeout <= TimeSpan.Zero)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Request timeout {timeout} must be positive.");
        }

        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var correlationId = Guid.NewGuid().ToString("N");
        var reply = new TaskCompletionSource<StoredMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[correlationId] = reply;
        try
        {
            await client.PublishAsync(topic, request.WithHeader(Headers.ReplyTo, Topic).WithHeader(Headers.CorrelationId, correlationId), cancellationToken).ConfigureAwait(false);
            return await reply.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new OrleansMQException(ErrorCode.RequestTimeout, $"No reply to the request on '{topic}' within {timeout} (correlation id {correlationId}).");
        }
        finally
        {
            _pending.TryRemove(correlationId, out _);
        }
    }

    private async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            return;
        }

        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loop is not null)
            {
                return;
            }

            await client.Admin.CreateTopicAsync(Topic, new TopicSpec { Retention = new RetentionPolicy { MaxAge = TimeSpan.FromHours(1) } }, cancellationToken).ConfigureAwait(false);
            await client.Admin.CreateSubscriptionAsync(Topic, Subscription, new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest, MaxDeliveries = 0 }, cancellationToken).ConfigureAwait(false);
            _consumer = client.CreateConsumer(Topic, Subscription, new ConsumerOptions { Prefetch = 1000, PollWait = TimeSpan.FromSeconds(2) });
            _loop = Task.Run(ListenAsync, CancellationToken.None);
        }
        finally
        {
            _startLock.Release();
        }
    }

    private async Task ListenAsync()
    {
        try
        {
            await foreach (var d in _consumer!.ConsumeAsync(_stop.Token).ConfigureAwait(false))
            {
                if (d.Message.Headers.TryGetValue(Headers.CorrelationId, out var id) && _pending.TryRemove(id, out var waiter))
                {
                    waiter.TrySetResult(d.Message);
                }

                _ = d.AckAsync(); // batched; a lost ack only means a late reply is read again and ignored
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_consumer is not null)
        {
            try
            {
                await _consumer.DisposeAsync().ConfigureAwait(false);
                if (_loop is not null)
                {
                    await _loop.ConfigureAwait(false);
                }

                await client.Admin.DeleteTopicAsync(Topic).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OrleansMQException or ObjectDisposedException or OrleansException or TimeoutException)
            {
                // Best effort at shutdown (the cluster connection may already be gone): the reply topic's retention
                // removes its messages anyway.
            }
        }

        _stop.Dispose();
        _startLock.Dispose();
    }
}
