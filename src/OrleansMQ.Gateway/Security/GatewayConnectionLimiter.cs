using Microsoft.Extensions.Options;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Counts open sessions (STOMP over TCP or WebSocket, WebSocket streams, HTTP pull-consume sessions) and subscriptions, in total
/// and per principal, against <see cref="GatewayLimitsOptions"/>. Every long-lived gateway entry point takes a lease
/// here after authenticating and disposes it when the session ends.
/// </summary>
public sealed class GatewayConnectionLimiter
{
    private readonly GatewayLimitsOptions _limits;
    private readonly Dictionary<string, int> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _total;

    /// <summary>Creates the limiter with the gateway's limits.</summary>
    public GatewayConnectionLimiter(IOptions<OrleansMQGatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _limits = options.Value.Limits;
    }

    /// <summary>Open sessions now, in total.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>
    /// Takes a session slot for <paramref name="principal"/>; dispose the result when the session ends. Throws
    /// <see cref="OrleansMQException"/> with <see cref="ErrorCode.LimitExceeded"/> naming the limit when it is full.
    /// </summary>
    public IDisposable OpenConnection(string principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        lock (_lock)
        {
            if (_total >= _limits.MaxConnections)
            {
                throw new OrleansMQException(ErrorCode.LimitExceeded,
                    $"The gateway has {_total} sessions open; the limit is Gateway:Limits:MaxConnections={_limits.MaxConnections}.");
            }

            var open = _connections.GetValueOrDefault(principal);
            if (open >= _limits.MaxConnectionsPerPrincipal)
            {
                throw new OrleansMQException(ErrorCode.LimitExceeded,
                    $"Principal '{principal}' has {open} sessions open; the limit is Gateway:Limits:MaxConnectionsPerPrincipal={_limits.MaxConnectionsPerPrincipal}.");
            }

            _connections[principal] = open + 1;
            _total++;
        }

        return new Lease(this, principal, connection: true);
    }

    /// <summary>
    /// Takes a subscription slot for <paramref name="principal"/>; dispose the result when the subscription ends. Throws
    /// <see cref="OrleansMQException"/> with <see cref="ErrorCode.LimitExceeded"/> naming the limit when it is full.
    /// </summary>
    public IDisposable OpenSubscription(string principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        lock (_lock)
        {
            var open = _subscriptions.GetValueOrDefault(principal);
            if (open >= _limits.MaxSubscriptionsPerPrincipal)
            {
                throw new OrleansMQException(ErrorCode.LimitExceeded,
                    $"Principal '{principal}' has {open} subscriptions; the limit is Gateway:Limits:MaxSubscriptionsPerPrincipal={_limits.MaxSubscriptionsPerPrincipal}.");
            }

            _subscriptions[principal] = open + 1;
        }

        return new Lease(this, principal, connection: false);
    }

    private void Release(string principal, bool connection)
    {
        lock (_lock)
        {
            var counts = connection ? _connections : _subscriptions;
            if (counts[principal] == 1)
            {
                counts.Remove(principal);
            }
            else
            {
                counts[principal]--;
            }

            if (connection)
            {
                _total--;
            }
        }
    }

    private sealed class Lease(GatewayConnectionLimiter owner, string principal, bool connection) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(principal, connection);
            }
        }
    }
}
