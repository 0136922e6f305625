using OrleansMQ.Faults.History;

namespace OrleansMQ.Faults.Checking;

/// <summary>
/// Checks a run's publish and delivery histories (Jepsen-style, after the fact): every acknowledged message reached every
/// subscription, nothing was delivered that was not published, no body changed, the idempotent producer stored nothing
/// twice, and Exclusive/KeyShared subscriptions kept each producer's per-key order.
/// </summary>
public static class HistoryChecker
{
    /// <summary>Checks the histories.</summary>
    /// <param name="publishes">Every publish outcome of the run.</param>
    /// <param name="deliveries">Every delivery, in the order each consumer received them (one file per consumer or one shared file).</param>
    /// <param name="diskFaults">Disk faults the test injected on purpose; they excuse the loss of the records they destroyed.</param>
    /// <param name="duplicatesForbidden">Whether a message stored twice fails the check (true for the idempotent producer).</param>
    /// <param name="subscriptions">
    /// The subscriptions that must deliver every acknowledged message (all start at the earliest offset); the others are
    /// checked for everything but loss. Default: every subscription in <paramref name="deliveries"/>; name them so that
    /// one that delivered nothing at all is caught.
    /// </param>
    public static CheckReport Check(IReadOnlyList<PublishRecord> publishes, IReadOnlyList<DeliveryRecord> deliveries,
        IReadOnlyList<DiskFaultRecord>? diskFaults = null, bool duplicatesForbidden = true, IReadOnlyCollection<string>? subscriptions = null)
    {
        // The last outcome wins if a (producer, seq) appears twice (it should not; the workload logs each publish once).
        var published = new Dictionary<(string Producer, long Seq), PublishRecord>();
        foreach (var p in publishes)
        {
            published[(p.Producer, p.Seq)] = p;
        }

        var unexpected = new List<Anomaly>();
        var corrupt = new List<Anomaly>();
        var order = new List<Anomaly>();
        var redeliveries = 0;
        var stored = new Dictionary<(string Producer, long Seq), HashSet<(string Topic, int Partition, long Offset)>>();
        var delivered = new Dictionary<string, HashSet<(string, long)>>();
        var firstSeen = new HashSet<(string Subscription, string Topic, int Partition, long Offset)>();
        var highestSeqByKey = new Dictionary<(string Subscription, string Key, string Producer), long>();
        var unexpectedSeen = new HashSet<(string, long)>();
        foreach (var d in deliveries)
        {
            if (!firstSeen.Add((d.Subscription, d.Topic, d.Partition, d.Offset)))
            {
                redeliveries++;
                continue;
            }

            if (d.Producer is null || d.Seq < 0)
            {
                corrupt.Add(new Anomaly(d.Subscription, d.Producer ?? "?", d.Seq, $"undecodable body at {d.Topic}/{d.Partition}@{d.Offset}"));
                continue;
            }

            var id = (d.Producer, d.Seq);
            if (!d.BodyIntact)
            {
                corrupt.Add(new Anomaly(d.Subscription, d.Producer, d.Seq, $"body differs from what was sent, at {d.Topic}/{d.Partition}@{d.Offset}"));
            }

            if (!published.TryGetValue(id, out var publish) || publish.Outcome == PublishOutcome.Failed)
            {
                if (unexpectedSeen.Add(id))
                {
                    unexpected.Add(new Anomaly(d.Subscription, d.Producer, d.Seq, publish is null
                        ? $"delivered at {d.Topic}/{d.Partition}@{d.Offset} but never published"
                        : $"delivered at {d.Topic}/{d.Partition}@{d.Offset} but its publish failed ({publish.Error})"));
                }

                continue;
            }

            if (!string.Equals(publish.Key, d.Key, StringComparison.Ordinal))
            {
                corrupt.Add(new Anomaly(d.Subscription, d.Producer, d.Seq, $"key '{d.Key}' delivered, '{publish.Key}' published"));
            }

            (stored.TryGetValue(id, out var positions) ? positions : stored[id] = []).Add((d.Topic, d.Partition, d.Offset));
            (delivered.TryGetValue(d.Subscription, out var seen) ? seen : delivered[d.Subscription] = []).Add(id);

            if (d.Type is "Exclusive" or "KeyShared" && d.Key is not null)
            {
                var orderKey = (d.Subscription, d.Key, d.Producer);
                if (highestSeqByKey.TryGetValue(orderKey, out var highest) && d.Seq < highest)
                {
                    order.Add(new Anomaly(d.Subscription, d.Producer, d.Seq, $"key {d.Key}: first delivered (at {d.Topic}/{d.Partition}@{d.Offset}) after seq {highest} of the same producer and key"));
                }
                else
                {
                    highestSeqByKey[orderKey] = d.Seq;
                }
            }
        }

        var duplicates = stored
            .Where(kv => kv.Value.Count > 1)
            .Select(kv => new Anomaly(null, kv.Key.Producer, kv.Key.Seq, $"stored {kv.Value.Count} times: {string.Join(", ", kv.Value.Select(p => $"{p.Topic}/{p.Partition}@{p.Offset}"))}"))
            .ToList();

        foreach (var name in subscriptions ?? [])
        {
            delivered.TryAdd(name, []);
        }

        var mustSeeAll = subscriptions is null ? delivered : delivered.Where(kv => subscriptions.Contains(kv.Key)).ToDictionary();
        var undelivered = new List<Anomaly>();
        foreach (var (subscription, seen) in delivered.Where(kv => !mustSeeAll.ContainsKey(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            undelivered.AddRange(published.Values.Where(p => p.Outcome == PublishOutcome.Ok && !seen.Contains((p.Producer, p.Seq)))
                .Select(p => new Anomaly(subscription, p.Producer, p.Seq, $"acknowledged at {p.Topic}/{p.Partition}@{p.Offset}, not delivered on this live subscription before the run ended")));
        }


        var lost = new List<Anomaly>();
        var destroyed = new List<Anomaly>();
        var acked = published.Values.Where(p => p.Outcome == PublishOutcome.Ok).OrderBy(p => p.Producer, StringComparer.Ordinal).ThenBy(p => p.Seq).ToList();
        foreach (var (subscription, seen) in mustSeeAll.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var p in acked.Where(p => !seen.Contains((p.Producer, p.Seq))))
            {
                var fault = diskFaults?.FirstOrDefault(f => f.Topic == p.Topic && f.Partition == p.Partition && p.Offset >= f.FromOffset && PublishedBefore(f, p));
                var anomaly = new Anomaly(subscription, p.Producer, p.Seq, fault is null
                    ? $"acknowledged at {p.Topic}/{p.Partition}@{p.Offset}, never delivered"
                    : $"acknowledged at {p.Topic}/{p.Partition}@{p.Offset}; the injected {fault.Kind} at byte {fault.Position} of {Path.GetFileName(fault.File)} destroyed offsets from {fault.FromOffset}");
                (fault is null ? lost : destroyed).Add(anomaly);
            }
        }

        var everDelivered = stored.Keys.ToHashSet();
        return new CheckReport
        {
            Published = published.Count,
            Acknowledged = acked.Count,
            Failed = published.Values.Count(p => p.Outcome == PublishOutcome.Failed),
            Unknown = published.Values.Count(p => p.Outcome == PublishOutcome.Unknown),
            UnknownDelivered = published.Values.Count(p => p.Outcome == PublishOutcome.Unknown && everDelivered.Contains((p.Producer, p.Seq))),
            Deliveries = deliveries.Count,
            DeliveriesBySubscription = deliveries.GroupBy(d => d.Subscription).ToDictionary(g => g.Key, g => g.Count()),
            Lost = lost,
            LostToInjectedDiskFaults = destroyed,
            Unexpected = unexpected,
            Undelivered = undelivered,
            Corrupt = corrupt,
            LogDuplicates = duplicates,
            Redeliveries = redeliveries,
            OrderViolations = order,
            DuplicatesForbidden = duplicatesForbidden,
        };
    }

    // A disk fault only excuses messages acknowledged before it: those of the producers it names (each workload run has
    // its own producer ids, and the nemesis only corrupts between runs).
    private static bool PublishedBefore(DiskFaultRecord fault, PublishRecord publish) =>
        fault.Before.Contains(publish.Producer, StringComparer.Ordinal);
}
