using System.Collections.Concurrent;

namespace OrleansMQ.Server.Routing;

/// <summary>
/// A compiled, immutable view of an exchange's bindings: patterns split and filters parsed once. Topic exchanges
/// remember which bindings match recent routing keys (bounded), since real traffic reuses few keys.
/// </summary>
public sealed class RoutingTable
{
    private const int MaxCachedKeys = 10_000;
    private readonly Compiled[] _bindings;
    private readonly ConcurrentDictionary<string, int[]> _byKey = new(StringComparer.Ordinal);
    // Routes that depend on the routing key alone (no headers exchange, no filter among the candidates), by key.
    private readonly ConcurrentDictionary<string, RouteTarget[]> _routes = new(StringComparer.Ordinal);

    /// <summary>Compiles <paramref name="exchange"/>. Throws <see cref="ErrorCode.InvalidArgument"/> for a bad filter.</summary>
    public RoutingTable(ExchangeInfo exchange)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        Exchange = exchange;
        _bindings = [.. exchange.Bindings.Select(b => new Compiled(b, TopicPattern.Words(b.Key), b.Filter is { } f ? MessageFilter.Parse(f) : null))];
    }

    /// <summary>The exchange this table was built from.</summary>
    public ExchangeInfo Exchange { get; }

    /// <summary>
    /// The distinct destinations for a message, in binding order (the first matching binding's transforms win). The
    /// array may be shared between calls: do not change it.
    /// </summary>
    public RouteTarget[] Route(string routingKey, Message message)
    {
        ArgumentNullException.ThrowIfNull(routingKey);
        ArgumentNullException.ThrowIfNull(message);
        var byKeyAlone = Exchange.Spec.Type != ExchangeType.Headers;
        if (byKeyAlone && _routes.TryGetValue(routingKey, out var cached))
        {
            return cached;
        }

        var candidates = Candidates(routingKey, message.Headers);
        if (candidates.Length == 0)
        {
            return [];
        }

        var result = new List<RouteTarget>(candidates.Length);
        foreach (var i in candidates)
        {
            var b = _bindings[i];
            byKeyAlone &= b.Filter is null;
            if ((b.Filter is null || b.Filter.Matches(message)) && !result.Exists(t => t.Destination == b.Binding.Destination))
            {
                result.Add(new RouteTarget(b.Binding.Destination, b.Binding.Transforms));
            }
        }

        RouteTarget[] route = [.. result];
        if (byKeyAlone && _routes.Count < MaxCachedKeys)
        {
            _routes.TryAdd(routingKey, route);
        }

        return route;
    }

    /// <summary>Indices of the bindings the exchange type selects (before filters).</summary>
    private int[] Candidates(string routingKey, IReadOnlyDictionary<string, string>? headers)
    {
        switch (Exchange.Spec.Type)
        {
            case ExchangeType.Fanout:
                return Where(_ => true);
            case ExchangeType.Direct:
                return Where(b => b.Binding.Key == routingKey);
            case ExchangeType.Headers:
                return Where(b => HeadersMatch(b.Binding, headers));
            case ExchangeType.Topic:
                if (_byKey.TryGetValue(routingKey, out var cached))
                {
                    return cached;
                }

                var words = TopicPattern.Words(routingKey);
                var result = Where(b => TopicPattern.IsMatch(b.Words, words));
                if (_byKey.Count < MaxCachedKeys)
                {
                    _byKey.TryAdd(routingKey, result);
                }

                return result;
            default:
                return [];
        }
    }

    private int[] Where(Func<Compiled, bool> predicate)
    {
        var list = new List<int>();
        for (var i = 0; i < _bindings.Length; i++)
        {
            if (predicate(_bindings[i]))
            {
                list.Add(i);
            }
        }

        return [.. list];
    }

    private static bool HeadersMatch(Binding binding, IReadOnlyDictionary<string, string>? headers)
    {
        if (binding.Headers is not { Count: > 0 } wanted)
        {
            return binding.Match == OrleansMQ.HeadersMatch.All;
        }

        bool Has(KeyValuePair<string, string> kv) => headers is not null && headers.TryGetValue(kv.Key, out var v) && v == kv.Value;
        return binding.Match == OrleansMQ.HeadersMatch.All ? wanted.All(Has) : wanted.Any(Has);
    }

    private sealed record Compiled(Binding Binding, string[] Words, MessageFilter? Filter);
}

/// <summary>A destination of a routed message and the transforms of the binding that chose it.</summary>
public readonly record struct RouteTarget(string Destination, IReadOnlyList<TransformStep>? Transforms);
