using System.Globalization;
using System.Text;

namespace OrleansMQ.Faults.Checking;

/// <summary>One acknowledged message a subscription never delivered, or one other anomaly, for the report.</summary>
/// <param name="Subscription">The subscription (null for anomalies of the log itself).</param>
/// <param name="Producer">Producer id.</param>
/// <param name="Seq">Producer sequence.</param>
/// <param name="Detail">What is wrong, with partitions and offsets.</param>
public sealed record Anomaly(string? Subscription, string Producer, long Seq, string Detail);

/// <summary>What the checker found in a run's histories. <see cref="Passed"/> says whether the broker kept its promises.</summary>
public sealed class CheckReport
{
    /// <summary>Publishes in the history (every outcome).</summary>
    public int Published { get; init; }

    /// <summary>Acknowledged publishes.</summary>
    public int Acknowledged { get; init; }

    /// <summary>Publishes refused with an error that says nothing was written.</summary>
    public int Failed { get; init; }

    /// <summary>Publishes with an unknown outcome (timeout, connection lost).</summary>
    public int Unknown { get; init; }

    /// <summary>Unknown-outcome publishes that were delivered after all (so they were written).</summary>
    public int UnknownDelivered { get; init; }

    /// <summary>Delivery records read.</summary>
    public int Deliveries { get; init; }

    /// <summary>Subscriptions checked, with their delivery counts.</summary>
    public IReadOnlyDictionary<string, int> DeliveriesBySubscription { get; init; } = new Dictionary<string, int>();

    /// <summary>Acknowledged, never delivered on a subscription that must see every message. Must be empty.</summary>
    public IReadOnlyList<Anomaly> Lost { get; init; } = [];

    /// <summary>
    /// Acknowledged, not delivered, and stored at offsets an injected disk fault destroyed (the data was corrupted on disk
    /// by the test, not by the broker). Reported, not a failure.
    /// </summary>
    public IReadOnlyList<Anomaly> LostToInjectedDiskFaults { get; init; } = [];

    /// <summary>
    /// Acknowledged and stored (the must-see-all subscriptions, e.g. a final read, delivered it) but not delivered on a
    /// live subscription that is not must-see-all before its run ended: a liveness finding, reported, not a failure.
    /// </summary>
    public IReadOnlyList<Anomaly> Undelivered { get; init; } = [];

    /// <summary>Delivered, but never published, or published with outcome failed. Must be empty.</summary>
    public IReadOnlyList<Anomaly> Unexpected { get; init; } = [];

    /// <summary>Delivered bodies that differ from what the producer sent (corrupt data served). Must be empty.</summary>
    public IReadOnlyList<Anomaly> Corrupt { get; init; } = [];

    /// <summary>
    /// One message stored more than once in the log (at two partition/offset positions). Must be empty for the idempotent
    /// producer.
    /// </summary>
    public IReadOnlyList<Anomaly> LogDuplicates { get; init; } = [];

    /// <summary>Deliveries of a (subscription, partition, offset) beyond its first: at-least-once redeliveries, allowed.</summary>
    public int Redeliveries { get; init; }

    /// <summary><see cref="Redeliveries"/> per delivery.</summary>
    public double RedeliveryRate => Deliveries == 0 ? 0 : (double)Redeliveries / Deliveries;

    /// <summary>
    /// Exclusive/KeyShared subscriptions: a message first delivered after a later message (higher producer sequence) of the
    /// same producer and key. Must be empty.
    /// </summary>
    public IReadOnlyList<Anomaly> OrderViolations { get; init; } = [];

    /// <summary>Whether duplicates in the log fail the check (the idempotent producer path).</summary>
    public bool DuplicatesForbidden { get; init; } = true;

    /// <summary>No loss, nothing unexpected, nothing corrupt, no order violation, and no log duplicates when forbidden.</summary>
    public bool Passed => Lost.Count == 0 && Unexpected.Count == 0 && Corrupt.Count == 0 && OrderViolations.Count == 0
        && (!DuplicatesForbidden || LogDuplicates.Count == 0);

    /// <summary>A human-readable summary with the first anomalies of each kind.</summary>
    public string Describe(int examples = 10)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"published {Published}: {Acknowledged} ok, {Failed} failed, {Unknown} unknown ({UnknownDelivered} of them delivered)");
        text.AppendLine(CultureInfo.InvariantCulture, $"deliveries {Deliveries} ({string.Join(", ", DeliveriesBySubscription.Select(kv => $"{kv.Key}: {kv.Value}"))}); redeliveries {Redeliveries} ({RedeliveryRate:P2})");
        text.AppendLine(CultureInfo.InvariantCulture, $"lost {Lost.Count}, unexpected {Unexpected.Count}, corrupt {Corrupt.Count}, log duplicates {LogDuplicates.Count}{(DuplicatesForbidden ? "" : " (allowed)")}, order violations {OrderViolations.Count}, lost to injected disk faults {LostToInjectedDiskFaults.Count}, undelivered on live subscriptions {Undelivered.Count}");
        Append("lost", Lost);
        Append("unexpected", Unexpected);
        Append("corrupt", Corrupt);
        Append("log duplicate", LogDuplicates);
        Append("order violation", OrderViolations);
        Append("lost to injected disk fault", LostToInjectedDiskFaults);
        Append("undelivered on a live subscription", Undelivered);
        text.Append(Passed ? "check: PASSED" : "check: FAILED");
        return text.ToString();

        void Append(string what, IReadOnlyList<Anomaly> anomalies)
        {
            foreach (var a in anomalies.Take(examples))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {what}: {a.Producer}:{a.Seq}{(a.Subscription is null ? "" : $" on {a.Subscription}")}: {a.Detail}");
            }

            if (anomalies.Count > examples)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  ... {anomalies.Count - examples} more {what}");
            }
        }
    }
}
