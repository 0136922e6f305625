using OrleansMQ.Grains;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// The subscriber grain of one region's order queue (keyed by the region): the broker pushes the queue's messages to
/// it. Returning from <see cref="IMessageConsumerGrain.OnMessagesAsync"/> acks them; throwing nacks them.
/// </summary>
[Alias("orders.IOrderProcessorGrain")]
public interface IOrderProcessorGrain : IMessageConsumerGrain, IGrainWithStringKey
{
    /// <summary>What this region's processor has done so far.</summary>
    [Alias("GetSummary")]
    Task<OrderProcessingSummary> GetSummaryAsync();
}

/// <summary>A region processor's counters.</summary>
[GenerateSerializer, Immutable, Alias("orders.summary")]
public sealed record OrderProcessingSummary
{
    /// <summary>Distinct orders processed (a redelivered order counts once).</summary>
    [Id(0)] public int Processed { get; init; }

    /// <summary>Of those, orders that arrived re-driven from the dead-letter topic.</summary>
    [Id(1)] public int ProcessedAfterRedrive { get; init; }

    /// <summary>Deliveries refused (each attempt of an order that failed counts).</summary>
    [Id(2)] public int RefusedDeliveries { get; init; }

    /// <summary>Sum of the processed orders' totals.</summary>
    [Id(3)] public decimal Revenue { get; init; }

    /// <summary>The first processed order as the processor received it (a CloudEvents envelope), for the printout.</summary>
    [Id(4)] public string? FirstEnvelope { get; init; }
}
