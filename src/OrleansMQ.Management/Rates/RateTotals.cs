namespace OrleansMQ.Management.Rates;

/// <summary>Messages counted by one silo since it started (or, summed, by the cluster's running silos).</summary>
/// <param name="Published">Messages appended durably (in).</param>
/// <param name="Delivered">Deliveries to consumers (out).</param>
/// <param name="Acked">Acknowledged messages.</param>
/// <param name="DeadLettered">Messages moved to dead-letter topics.</param>
[GenerateSerializer, Immutable, Alias("omq.rate-totals")]
public sealed record RateTotals(
    [property: Id(0)] long Published,
    [property: Id(1)] long Delivered,
    [property: Id(2)] long Acked,
    [property: Id(3)] long DeadLettered)
{
    /// <summary>Nothing counted.</summary>
    public static RateTotals Zero { get; } = new(0, 0, 0, 0);

    /// <summary>The sum of two totals.</summary>
    public RateTotals Add(RateTotals other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Published + other.Published, Delivered + other.Delivered, Acked + other.Acked, DeadLettered + other.DeadLettered);
    }
}
