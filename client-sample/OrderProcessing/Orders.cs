namespace OrleansMQ.OrderProcessing;

/// <summary>An order as the shop publishes it (JSON body of an <c>orders.{region}.created</c> message).</summary>
internal sealed record Order(string OrderId, string CustomerId, string Region, IReadOnlyList<OrderLine> Lines);

/// <summary>One line of an order.</summary>
internal sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

/// <summary>An order after the <c>enrich-order</c> transform: the customer looked up, the total and currency added.</summary>
internal sealed record EnrichedOrder(string OrderId, string Region, Customer Customer, IReadOnlyList<OrderLine> Lines, decimal Total, string Currency);

/// <summary>A customer from the <see cref="CustomerDirectory"/>.</summary>
internal sealed record Customer(string Id, string Name, string Tier);
