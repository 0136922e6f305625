namespace OrleansMQ.Management.Rates;

/// <summary>Reads the cluster's message rates from the <see cref="IRateBoardGrain"/> for the management page.</summary>
public sealed class ClusterRates(IGrainFactory grains)
{
    /// <summary>Every silo that reported in the last seconds, ordered by address.</summary>
    public Task<IReadOnlyList<SiloRates>> SilosAsync(CancellationToken cancellationToken) =>
        grains.GetGrain<IRateBoardGrain>(0).GetAsync().WaitAsync(cancellationToken);

    /// <summary>The silos' totals summed.</summary>
    public static RateTotals Total(IEnumerable<SiloRates> silos) => silos.Aggregate(RateTotals.Zero, (sum, s) => sum.Add(s.Totals));

    /// <summary>
    /// The silos' per-second samples summed by second (silos sample on their own clocks, so samples falling in the same
    /// UTC second add up), oldest first; the last second is left out while some silo has not reported it yet.
    /// </summary>
    public static IReadOnlyList<RateSample> Sum(IReadOnlyList<SiloRates> silos)
    {
        ArgumentNullException.ThrowIfNull(silos);
        var latestComplete = silos.Where(s => s.History.Count > 0).Select(s => Second(s.History[^1].Time)).DefaultIfEmpty().Min();
        return [.. silos.SelectMany(s => s.History)
            .GroupBy(s => Second(s.Time))
            .Where(g => g.Key <= latestComplete)
            .OrderBy(g => g.Key)
            .Select(g => new RateSample(g.Key, g.Sum(s => s.Published), g.Sum(s => s.Delivered), g.Sum(s => s.Acked), g.Sum(s => s.DeadLettered)))];
    }

    private static DateTimeOffset Second(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
