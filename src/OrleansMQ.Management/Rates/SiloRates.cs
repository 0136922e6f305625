namespace OrleansMQ.Management.Rates;

/// <summary>What one silo's <see cref="RateSampler"/> last reported to the <see cref="IRateBoardGrain"/>.</summary>
/// <param name="Silo">The silo's address (<c>SiloAddress.ToParsableString()</c>).</param>
/// <param name="Name">The silo's name.</param>
/// <param name="Totals">Counted by that silo since it started.</param>
/// <param name="History">Its per-second samples, oldest first (at most the board's history length).</param>
[GenerateSerializer, Immutable, Alias("omq.silo-rates")]
public sealed record SiloRates(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] RateTotals Totals,
    [property: Id(3)] IReadOnlyList<RateSample> History)
{
    /// <summary>Published per second, averaged over the last <paramref name="seconds"/> samples.</summary>
    public long RecentIn(int seconds = 5) => Average(seconds, s => s.Published);

    /// <summary>Delivered per second, averaged over the last <paramref name="seconds"/> samples.</summary>
    public long RecentOut(int seconds = 5) => Average(seconds, s => s.Delivered);

    private long Average(int seconds, Func<RateSample, long> value)
    {
        var recent = History.TakeLast(seconds).ToList();
        return recent.Count == 0 ? 0 : (long)recent.Average(value);
    }
}
