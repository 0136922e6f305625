using System.Net.Mime;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Microsoft.Extensions.Logging;
using OrleansMQ.Grains;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// Processes a region's orders: decodes the CloudEvents envelope the binding wrapped the order in, checks every product
/// against the <see cref="ProductCatalog"/>, and books the order. An unknown product throws, so the delivery is nacked,
/// retried with backoff and, after the queue's <c>MaxDeliveries</c>, dead-lettered with the exception as the reason.
/// Processing is idempotent by order id, since delivery is at-least-once.
/// </summary>
internal sealed partial class OrderProcessorGrain(ProductCatalog catalog, ILogger<OrderProcessorGrain> logger) : Grain, IOrderProcessorGrain
{
    private static readonly JsonEventFormatter Formatter = new();
    private readonly HashSet<string> _processed = new(StringComparer.Ordinal);
    private OrderProcessingSummary _summary = new();

    public Task OnMessagesAsync(MessageBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var delivery in batch.Messages)
        {
            var message = delivery.Message;
            var envelope = Formatter.DecodeStructuredModeMessage(message.Body, new ContentType(message.ContentType ?? "application/cloudevents+json"), extensionAttributes: null);
            if (envelope.Type != OrderEvents.CreatedType || envelope.Data is not JsonElement data)
            {
                throw new InvalidOperationException($"{message.Topic}/{message.Partition}/{message.Offset}: not an {OrderEvents.CreatedType} event with JSON data");
            }

            var order = data.Deserialize<EnrichedOrder>(OrderEvents.Json) ?? throw new InvalidOperationException("the event has no order");
            if (_processed.Contains(order.OrderId))
            {
                continue; // a redelivery of an order booked already
            }

            if (order.Lines.FirstOrDefault(l => !catalog.Contains(l.Sku)) is { } unknown)
            {
                _summary = _summary with { RefusedDeliveries = _summary.RefusedDeliveries + 1 };
                LogRefused(logger, order.OrderId, unknown.Sku, delivery.DeliveryCount);
                throw new InvalidOperationException($"order {order.OrderId}: unknown product {unknown.Sku}");
            }

            _processed.Add(order.OrderId);
            var redriven = message.Headers.ContainsKey(Headers.Redriven);
            _summary = _summary with
            {
                Processed = _summary.Processed + 1,
                ProcessedAfterRedrive = _summary.ProcessedAfterRedrive + (redriven ? 1 : 0),
                Revenue = _summary.Revenue + order.Total,
                FirstEnvelope = _summary.FirstEnvelope ?? message.BodyAsString(),
            };
        }

        return Task.CompletedTask;
    }

    public Task<OrderProcessingSummary> GetSummaryAsync() => Task.FromResult(_summary);

    [LoggerMessage(1, LogLevel.Information, "Refused order {OrderId} (delivery {DeliveryCount}): unknown product {Sku}")]
    private static partial void LogRefused(ILogger logger, string orderId, string sku, int deliveryCount);
}
