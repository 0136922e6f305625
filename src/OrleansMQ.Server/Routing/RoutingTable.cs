using System.Collections.Concurrent;

namespace OrleansMQ.Server.Routing;

/// <summary>
/// A compiled, immutable view of an exchange's bindings. Topic exchanges remember the destinations of recent routing
/// keys (bounded), since real traffic reuses few keys and matching is per binding.
/// </summary>
public sealed class RoutingTable
{
    private const int MaxCachedKeys = 10_000;
    private readonly (Binding Binding, string[] Words)[] _bindings;
    private readonly ConcurrentDictionary<string, string[]> _byKey = new(StringComparer.Ordinal);

    /// <summary>Compiles <paramref name="exchange"/>.</summary>
    public RoutingTable(ExchangeInfo exchange)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        Exchange = exchange;
        _bindings = [.. exchange.Bindings.Select(b => (b, TopicPattern.Words(b.Key)))];
    }

    /// <summary>The exchange this table was built from.</summary>
    public ExchangeInfo Exchange { get; }

    /// <summary>The distinct destinations for a message, in binding order.</summary>
    public string[] Route(string routingKey, IReadOnlyDictionary<string, string>? headers)
    {
        ArgumentNullException.ThrowIfNull(routingKey);
        switch (Exchange.Spec.Type)
        {
            case ExchangeType.Fanout:
                return Distinct(_bindings.Select(b => b.Binding.Destination));
            case ExchangeType.Direct:
                return Distinct(_bindings.Where(b => b.Binding.Key == routingKey).Select(b => b.Binding.Destination));
            case ExchangeType.Headers:
                return Distinct(_bindings.Where(b => HeadersMatch(b.Binding, headers)).Select(b => b.Binding.Destination));
            case ExchangeType.Topic:
                if (_byKey.TryGetValue(routingKey, out var cached))
                {
                    return cached;
                }

                var words = TopicPattern.Words(routingKey);
                var result = Distinct(_bindings.Where(b => TopicPattern.IsMatch(b.Words, words)).Select(b => b.Binding.Destination));
                if (_byKey.Count < MaxCachedKeys)
                {
                    _byKey.TryAdd(routingKey, result);
                }

                return result;
            default:
                return [];
        }
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

    private static string[] Distinct(IEnumerable<string> destinations) => [.. destinations.Distinct(StringComparer.Ordinal)];
}
