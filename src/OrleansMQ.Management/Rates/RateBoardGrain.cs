namespace OrleansMQ.Management.Rates;

/// <summary>
/// Keeps each silo's recent per-second samples in memory. Nothing is persisted: if the activation moves (its silo left),
/// the silos' next reports (each second) fill it again; only the chart's history restarts. A silo that stops reporting
/// (it died or left) drops out after <see cref="Stale"/>.
/// </summary>
[GrainType("omq.rate-board")]
internal sealed class RateBoardGrain(TimeProvider time) : Grain, IRateBoardGrain
{
    /// <summary>How long a silo's last report counts: a few missed seconds are a busy silo, not a gone one.</summary>
    internal static readonly TimeSpan Stale = TimeSpan.FromSeconds(15);

    private readonly Dictionary<string, Entry> _silos = new(StringComparer.Ordinal);

    public Task ReportAsync(string silo, string name, RateTotals totals, RateSample sample, int historySeconds)
    {
        if (!_silos.TryGetValue(silo, out var entry))
        {
            entry = new Entry();
            _silos[silo] = entry;
        }

        entry.Name = name;
        entry.Totals = totals;
        entry.LastReport = time.GetUtcNow();
        entry.History.Enqueue(sample);
        while (entry.History.Count > Math.Max(1, historySeconds))
        {
            entry.History.Dequeue();
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SiloRates>> GetAsync()
    {
        var now = time.GetUtcNow();
        foreach (var gone in _silos.Where(s => now - s.Value.LastReport > Stale).Select(s => s.Key).ToList())
        {
            _silos.Remove(gone);
        }

        IReadOnlyList<SiloRates> result = [.. _silos.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new SiloRates(s.Key, s.Value.Name, s.Value.Totals, [.. s.Value.History]))];
        return Task.FromResult(result);
    }

    private sealed class Entry
    {
        public string Name { get; set; } = "";

        public RateTotals Totals { get; set; } = RateTotals.Zero;

        public DateTimeOffset LastReport { get; set; }

        public Queue<RateSample> History { get; } = new();
    }
}
