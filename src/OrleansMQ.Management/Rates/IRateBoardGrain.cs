using Orleans.Concurrency;

namespace OrleansMQ.Management.Rates;

/// <summary>
/// The cluster's message rates: every silo's <see cref="RateSampler"/> reports its latest second here (one grain call per
/// silo per second), so the management page served by any silo shows the whole cluster's traffic. One activation (key 0).
/// </summary>
[Alias("omq.rate-board")]
public interface IRateBoardGrain : IGrainWithIntegerKey
{
    /// <summary>Adds <paramref name="sample"/> to the silo's history and replaces its totals.</summary>
    /// <param name="silo">The reporting silo's address.</param>
    /// <param name="name">The reporting silo's name.</param>
    /// <param name="totals">Counted by that silo since it started.</param>
    /// <param name="sample">Its last second.</param>
    /// <param name="historySeconds">How many samples per silo to keep (the page's chart length).</param>
    [Alias("report"), OneWay]
    Task ReportAsync(string silo, string name, RateTotals totals, RateSample sample, int historySeconds);

    /// <summary>Every silo that reported recently, ordered by address.</summary>
    [Alias("get"), ReadOnly]
    Task<IReadOnlyList<SiloRates>> GetAsync();
}
