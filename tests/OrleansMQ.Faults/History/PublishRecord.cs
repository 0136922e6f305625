using System.Text.Json.Serialization;

namespace OrleansMQ.Faults.History;

/// <summary>How a publish ended, from the producer's point of view.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PublishOutcome>))]
public enum PublishOutcome
{
    /// <summary>Acknowledged: the broker promised the message is durable. It must be delivered.</summary>
    Ok,

    /// <summary>Refused before anything was written (a typed error that says so). It must never be delivered.</summary>
    Failed,

    /// <summary>Timed out or failed in a way that leaves open whether it was written: it may or may not be delivered.</summary>
    Unknown,
}

/// <summary>One line of a publish history: the outcome of publishing message (<see cref="Producer"/>, <see cref="Seq"/>).</summary>
/// <param name="Producer">The producer id (also the idempotent producer's id).</param>
/// <param name="Seq">The producer's own sequence number, from 0.</param>
/// <param name="Topic">The topic published to.</param>
/// <param name="Key">The message key (per-key order is checked).</param>
/// <param name="Outcome">ok / failed / unknown.</param>
/// <param name="Partition">The acknowledged partition (ok only).</param>
/// <param name="Offset">The acknowledged offset (ok only).</param>
/// <param name="Error">The exception type and error code (failed / unknown only).</param>
public sealed record PublishRecord(string Producer, long Seq, string Topic, string Key, PublishOutcome Outcome, int? Partition = null, long? Offset = null, string? Error = null);
