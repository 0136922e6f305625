using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Grains;

namespace OrleansMQ.Gateway.Http.Pull;

/// <summary>
/// The HTTP pull sessions of this gateway node, keyed by (topic, subscription, consumer id), and the sweeper that
/// closes idle ones and releases deliveries nobody settled in time.
/// </summary>
internal sealed partial class PullSessions(
    IOrleansMQClient client,
    IGrainFactory grains,
    GatewayConnectionLimiter limiter,
    IOptions<OrleansMQGatewayOptions> options,
    ILogger<PullSessions> logger,
    TimeProvider? time = null) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Topic, string Subscription, string Consumer), PullSession> _sessions = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public int Count => _sessions.Count;

    /// <summary>
    /// The session for the key, opening one (and its consumer) when there is none. NotFound when the subscription does
    /// not exist. <paramref name="prefetch"/> is the new consumer's credit: the configured read-ahead for a named
    /// consumer, just the requested count for an anonymous one (which may never come back, so it must not lease more
    /// than it was handed). A new session takes a session and a subscription slot of <paramref name="principal"/> (like
    /// a STOMP connection with one subscription) until it closes: LimitExceeded when either limit is reached.
    /// </summary>
    public async Task<PullSession> GetOrOpenAsync(string topic, string subscription, string consumerId, int prefetch, string principal, CancellationToken cancellationToken)
    {
        var key = (topic, subscription, consumerId);
        if (_sessions.TryGetValue(key, out var existing) && !existing.IsDisposed)
        {
            return existing;
        }

        var info = await client.Admin.GetTopicAsync(topic, cancellationToken);
        if (!info.Subscriptions.TryGetValue(subscription, out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        var slots = OpenSlots(principal);
        var consumer = client.CreateConsumer(topic, subscription, new ConsumerOptions { ConsumerId = consumerId, Prefetch = prefetch });
        var session = new PullSession(consumer, spec.AckTimeout, _time) { Slots = slots };
        var winner = _sessions.AddOrUpdate(key, session, (_, current) => current.IsDisposed ? session : current);
        if (!ReferenceEquals(winner, session))
        {
            await session.DisposeAsync();
        }
        else
        {
            LogOpened(logger, topic, subscription, consumerId);
        }

        return winner;
    }

    private IDisposable OpenSlots(string principal)
    {
        var connection = limiter.OpenConnection(principal);
        try
        {
            return new Slots(connection, limiter.OpenSubscription(principal));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Acks or nacks deliveries by id: through the session that handed them out when it is here (frees its credit),
    /// else straight with the subscription grain (another gateway node or an expired session handed them out).
    /// Returns the failures by id.
    /// </summary>
    public async Task<IReadOnlyList<(string Id, OrleansMQException Error)>> SettleAsync(
        string topic, string subscription, string consumerId, IReadOnlyList<string> ids, bool ack, string? reason)
    {
        _sessions.TryGetValue((topic, subscription, consumerId), out var session);
        var work = new List<(string Id, Task Task)>(ids.Count);
        foreach (var text in ids)
        {
            DeliveryId id;
            try
            {
                id = DeliveryId.Parse(text);
            }
            catch (OrleansMQException ex)
            {
                work.Add((text, Task.FromException(ex)));
                continue;
            }

            if (session?.Take(id) is { } delivery)
            {
                work.Add((text, ack ? delivery.AckAsync() : delivery.NackAsync(reason)));
            }
            else
            {
                var grain = grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, id.Partition, subscription));
                work.Add((text, ack ? grain.AckAsync(consumerId, [id.Tag]) : grain.NackAsync(consumerId, [id.Tag], reason)));
            }
        }

        var failures = new List<(string, OrleansMQException)>();
        foreach (var (id, task) in work)
        {
            try
            {
                await task;
            }
            catch (OrleansMQException ex)
            {
                failures.Add((id, ex));
            }
        }

        return failures;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = options.Value.PullSessionIdleTimeout;
        var period = TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 4, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(15).Ticks));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var (key, session) in _sessions)
                {
                    if (session.IdleFor > idle)
                    {
                        if (_sessions.TryRemove(new(key, session)))
                        {
                            LogIdle(logger, key.Topic, key.Subscription, key.Consumer);
                            await session.DisposeAsync();
                        }
                    }
                    else
                    {
                        session.ReleaseOverdue();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var key in _sessions.Keys)
        {
            if (_sessions.TryRemove(key, out var session))
            {
                await session.DisposeAsync();
            }
        }
    }

    private sealed class Slots(IDisposable connection, IDisposable subscription) : IDisposable
    {
        public void Dispose()
        {
            subscription.Dispose();
            connection.Dispose();
        }
    }

    [LoggerMessage(3201, LogLevel.Debug, "HTTP pull session opened: {Topic}/{Subscription} consumer {Consumer}")]
    private static partial void LogOpened(ILogger logger, string topic, string subscription, string consumer);

    [LoggerMessage(3202, LogLevel.Debug, "HTTP pull session closed after being idle: {Topic}/{Subscription} consumer {Consumer}")]
    private static partial void LogIdle(ILogger logger, string topic, string subscription, string consumer);
}
