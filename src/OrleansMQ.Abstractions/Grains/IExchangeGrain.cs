using Orleans.Concurrency;

namespace OrleansMQ.Grains;

/// <summary>An exchange's durable definition and bindings. Keyed by the exchange name. Not on the message path: routers cache it.</summary>
[Alias("omq.IExchangeGrain")]
public interface IExchangeGrain : IGrainWithStringKey
{
    /// <summary>Creates the exchange (idempotent for the same definition; <see cref="ErrorCode.AlreadyExists"/> otherwise).</summary>
    [Alias("Create")]
    Task<ExchangeInfo> CreateAsync(ExchangeSpec spec);

    /// <summary>The exchange, or null when it does not exist.</summary>
    [Alias("TryGet"), AlwaysInterleave]
    Task<ExchangeInfo?> TryGetAsync();

    /// <summary>Deletes the exchange. Completes once no router can still use it.</summary>
    [Alias("Delete")]
    Task DeleteAsync();

    /// <summary>Adds a binding (idempotent). Completes once every later publish, through any silo, sees it.</summary>
    [Alias("Bind")]
    Task<ExchangeInfo> BindAsync(Binding binding);

    /// <summary>Removes a binding. Completes once every later publish, through any silo, sees it.</summary>
    [Alias("Unbind")]
    Task<ExchangeInfo> UnbindAsync(Binding binding);
}

/// <summary>
/// Routes published messages through an exchange. A stateless worker: one or more activations per silo, each with a
/// cached copy of the exchange's bindings, so publishing never funnels through a single grain.
/// </summary>
[Alias("omq.IRouterGrain")]
public interface IRouterGrain : IGrainWithStringKey
{
    /// <summary>Routes each message by its routing key (and headers); returns where each went, in order.</summary>
    /// <param name="messages">The messages with their routing keys.</param>
    /// <param name="hops">How many alternate exchanges were followed already (loops stop after 3).</param>
    [Alias("Route")]
    Task<RoutedReceipt[]> RouteAsync(IReadOnlyList<RoutedMessage> messages, int hops = 0);

    /// <summary>
    /// Routes like <see cref="RouteAsync"/> and answers with the receipts packed (<see cref="RoutedBatchReceipt.Unpack"/>):
    /// what producers use, as a fan-out's receipt then costs a few bytes per copy instead of an object per copy.
    /// </summary>
    /// <param name="messages">The messages with their routing keys.</param>
    [Alias("RouteBatch")]
    Task<RoutedBatchReceipt> RouteBatchAsync(IReadOnlyList<RoutedMessage> messages);
}

/// <summary>A message published to an exchange with its routing key.</summary>
[GenerateSerializer, Immutable, Alias("omq.routed-message")]
public readonly record struct RoutedMessage([property: Id(0)] string RoutingKey, [property: Id(1)] Message Message);
