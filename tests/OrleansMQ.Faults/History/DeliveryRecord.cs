namespace OrleansMQ.Faults.History;

/// <summary>One line of a delivery history: a consumer of <see cref="Subscription"/> received this message.</summary>
/// <param name="Subscription">The subscription name.</param>
/// <param name="Type">The subscription type (Exclusive, Failover, Shared, KeyShared): per-key order is checked for Exclusive and KeyShared.</param>
/// <param name="Consumer">Which consumer of the subscription received it.</param>
/// <param name="Topic">Topic.</param>
/// <param name="Partition">Partition.</param>
/// <param name="Offset">Offset in the partition.</param>
/// <param name="Key">The message key as delivered.</param>
/// <param name="Producer">The producer id parsed from the body (null when the body is not a workload message).</param>
/// <param name="Seq">The producer sequence parsed from the body (-1 when the body is not a workload message).</param>
/// <param name="BodyIntact">Whether the body is byte for byte what the producer sent for (Producer, Seq).</param>
/// <param name="DeliveryCount">The broker's delivery count (1 on the first delivery).</param>
public sealed record DeliveryRecord(string Subscription, string Type, string Consumer, string Topic, int Partition, long Offset, string? Key, string? Producer, long Seq, bool BodyIntact, int DeliveryCount);
