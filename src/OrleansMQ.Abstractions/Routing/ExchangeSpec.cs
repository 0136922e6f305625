namespace OrleansMQ;

/// <summary>How an exchange matches messages to its bindings (RabbitMQ's exchange types).</summary>
public enum ExchangeType
{
    /// <summary>The routing key equals the binding key.</summary>
    Direct = 0,
    /// <summary>The binding key is a pattern over dot-separated words: <c>*</c> is exactly one word, <c>#</c> zero or more.</summary>
    Topic = 1,
    /// <summary>The message headers match the binding's headers (all or any of them).</summary>
    Headers = 2,
    /// <summary>Every binding gets every message.</summary>
    Fanout = 3,
}

/// <summary>The definition of an exchange: a router from a routing key (and headers) to topics and queues.</summary>
[GenerateSerializer, Immutable, Alias("omq.exchange-spec")]
public sealed record ExchangeSpec
{
    /// <summary>The matching rule.</summary>
    [Id(0)] public ExchangeType Type { get; init; } = ExchangeType.Direct;

    /// <summary>Where unroutable messages go: a topic or queue. Null (and no <see cref="AlternateExchange"/>) = reject them with <see cref="ErrorCode.Unroutable"/>.</summary>
    [Id(1)] public string? AlternateTopic { get; init; }

    /// <summary>Where unroutable messages go: another exchange (with the same routing key). At most 3 hops.</summary>
    [Id(2)] public string? AlternateExchange { get; init; }

    /// <summary>Throws <see cref="OrleansMQException"/> when a field is invalid.</summary>
    public void Validate(string exchange)
    {
        Names.Validate(exchange, "exchange");
        if (!Enum.IsDefined(Type))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Exchange '{exchange}': unknown type {(int)Type}.");
        }

        if (AlternateTopic is not null && AlternateExchange is not null)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Exchange '{exchange}': set an alternate topic or an alternate exchange, not both.");
        }

        if (AlternateTopic is not null)
        {
            Names.Validate(AlternateTopic, "alternate topic");
        }

        if (AlternateExchange is not null)
        {
            Names.Validate(AlternateExchange, "alternate exchange");
        }
    }
}

/// <summary>Whether a headers binding needs all or any of its headers to match (RabbitMQ's <c>x-match</c>).</summary>
public enum HeadersMatch
{
    /// <summary>Every binding header must be present with the same value.</summary>
    All = 0,
    /// <summary>At least one binding header must be present with the same value.</summary>
    Any = 1,
}

/// <summary>A route from an exchange to a topic or queue.</summary>
[GenerateSerializer, Immutable, Alias("omq.binding")]
public sealed record Binding
{
    /// <summary>The topic or queue that receives matching messages.</summary>
    [Id(0)] public required string Destination { get; init; }

    /// <summary>Direct: the routing key to match exactly. Topic: the pattern (<c>orders.*.created</c>, <c>#.eu</c>). Ignored by Headers and Fanout.</summary>
    [Id(1)] public string Key { get; init; } = "";

    /// <summary>Headers exchanges: the headers to match.</summary>
    [Id(2)] public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Headers exchanges: all or any.</summary>
    [Id(3)] public HeadersMatch Match { get; init; } = HeadersMatch.All;

    /// <summary>
    /// Optional content filter, applied after the exchange type's match, e.g.
    /// <c>headers.region == 'eu' &amp;&amp; body.amount &gt; 100</c> (see README: content filters). At most 1024 characters.
    /// </summary>
    [Id(4)] public string? Filter { get; init; }

    /// <summary>Transform steps applied to messages routed by this binding (see <see cref="TransformStep"/>).</summary>
    [Id(5)] public IReadOnlyList<TransformStep>? Transforms { get; init; }

    /// <summary>Equality on content (the headers dictionary by its entries), so unbinding finds the binding.</summary>
    public bool Equals(Binding? other) =>
        other is not null && Destination == other.Destination && Key == other.Key && Match == other.Match && Filter == other.Filter && SameSteps(Transforms, other.Transforms) && SameHeaders(Headers, other.Headers);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Destination, Key, Match, Headers?.Count ?? 0);

    private static bool SameSteps(IReadOnlyList<TransformStep>? a, IReadOnlyList<TransformStep>? b) =>
        (a is null || a.Count == 0) ? (b is null || b.Count == 0)
        : b is not null && a.SequenceEqual(b);

    private static bool SameHeaders(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        (a is null || a.Count == 0) ? (b is null || b.Count == 0)
        : b is not null && a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}

/// <summary>An exchange's definition and bindings.</summary>
[GenerateSerializer, Immutable, Alias("omq.exchange-info")]
public sealed record ExchangeInfo
{
    /// <summary>The exchange name.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>The definition.</summary>
    [Id(1)] public required ExchangeSpec Spec { get; init; }

    /// <summary>The bindings.</summary>
    [Id(2)] public IReadOnlyList<Binding> Bindings { get; init; } = [];

    /// <summary>Incremented by every binding change.</summary>
    [Id(3)] public long Version { get; init; }
}

/// <summary>Where a routed message went: one receipt per destination topic (none when it was dropped to nowhere).</summary>
[GenerateSerializer, Immutable, Alias("omq.routed")]
public sealed record RoutedReceipt
{
    /// <summary>The topics or queues the message was appended to, with where it landed.</summary>
    [Id(0)] public required IReadOnlyList<TopicReceipt> Deliveries { get; init; }

    /// <summary>True when no binding matched and the message went to the exchange's alternate.</summary>
    [Id(1)] public bool Alternate { get; init; }

    /// <summary>Set when this message (alone) was refused: unroutable, too large, … The client turns it into an <see cref="OrleansMQException"/>.</summary>
    [Id(2)] public ErrorCode? Error { get; init; }

    /// <summary>The message of <see cref="Error"/>.</summary>
    [Id(3)] public string? ErrorMessage { get; init; }
}

/// <summary>A message appended to a topic.</summary>
[GenerateSerializer, Immutable, Alias("omq.topic-receipt")]
public readonly record struct TopicReceipt([property: Id(0)] string Topic, [property: Id(1)] PublishReceipt Receipt);
