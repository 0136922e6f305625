namespace OrleansMQ.Management.Rates;

/// <summary>Messages per second in one second of one silo's (or, summed, the cluster's) broker metrics.</summary>
/// <param name="Time">The end of the second (UTC).</param>
/// <param name="Published">Messages appended durably (in).</param>
/// <param name="Delivered">Deliveries to consumers (out).</param>
/// <param name="Acked">Acknowledged messages.</param>
/// <param name="DeadLettered">Messages moved to dead-letter topics.</param>
[GenerateSerializer, Immutable, Alias("omq.rate-sample")]
public sealed record RateSample(
    [property: Id(0)] DateTimeOffset Time,
    [property: Id(1)] long Published,
    [property: Id(2)] long Delivered,
    [property: Id(3)] long Acked,
    [property: Id(4)] long DeadLettered);
