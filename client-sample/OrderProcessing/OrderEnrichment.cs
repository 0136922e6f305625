using System.Net.Mime;
using System.Text.Json;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// A user transform (<c>TransformStep.Custom("enrich-order")</c>) registered in the silo's DI: replaces the customer id
/// with the customer from the <see cref="CustomerDirectory"/>, adds the order total and the region's currency, and
/// puts the customer's tier in a header. An unknown customer throws, which sends the order to the exchange's
/// dead-letter topic with this step named in the reason.
/// </summary>
internal sealed class OrderEnrichment(CustomerDirectory customers) : IMessageTransform
{
    public const string Name = "enrich-order";

    public ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken)
    {
        var order = JsonSerializer.Deserialize<Order>(message.Body.Span, OrderEvents.Json)
            ?? throw new InvalidOperationException("the body is not an order");
        var customer = customers.Find(order.CustomerId)
            ?? throw new InvalidOperationException($"order {order.OrderId}: unknown customer {order.CustomerId}");
        var enriched = new EnrichedOrder(
            order.OrderId,
            order.Region,
            customer,
            order.Lines,
            order.Lines.Sum(l => l.Quantity * l.UnitPrice),
            order.Region == "us" ? "USD" : "EUR");
        return ValueTask.FromResult(message.WithHeader("customer-tier", customer.Tier) with
        {
            Body = JsonSerializer.SerializeToUtf8Bytes(enriched, OrderEvents.Json),
            ContentType = MediaTypeNames.Application.Json,
        });
    }
}
