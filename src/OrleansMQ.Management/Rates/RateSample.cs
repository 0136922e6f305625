namespace OrleansMQ.Management.Rates;

/// <summary>Messages per second in one second of this silo's broker metrics.</summary>
/// <param name="Time">The end of the second (UTC).</param>
/// <param name="Published">Messages appended durably (in).</param>
/// <param name="Delivered">Deliveries to consumers (out).</param>
/// <param name="Acked">Acknowledged messages.</param>
/// <param name="DeadLettered">Messages moved to dead-letter topics.</param>
public sealed record RateSample(DateTimeOffset Time, long Published, long Delivered, long Acked, long DeadLettered);
