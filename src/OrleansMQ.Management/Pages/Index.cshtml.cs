using Microsoft.AspNetCore.Mvc.RazorPages;
using OrleansMQ.Management.Queries;
using OrleansMQ.Management.Rates;

namespace OrleansMQ.Management.Pages;

/// <summary>The overview: silos, totals, live rates, topics and queues, and the create form.</summary>
public sealed class IndexModel(ManagementQueries queries, ClusterRates clusterRates, RateSampler rates) : PageModel
{
    /// <summary>What the page shows.</summary>
    public Overview Overview { get; private set; } = null!;

    /// <summary>Each silo's rates and totals, as reported to the rate board (empty when it could not be read).</summary>
    public IReadOnlyList<SiloRates> SiloRates { get; private set; } = [];

    /// <summary>Whether the figures are the cluster's (the rate board answered) or only this silo's.</summary>
    public bool ClusterWide { get; private set; }

    /// <summary>Counted since start by the cluster's running silos (or this silo's, see <see cref="ClusterWide"/>).</summary>
    public RateTotals Totals { get; private set; } = RateTotals.Zero;

    /// <summary>Published per second, averaged over the last 5 s, summed over the silos.</summary>
    public long RateIn { get; private set; }

    /// <summary>Delivered per second, averaged over the last 5 s, summed over the silos.</summary>
    public long RateOut { get; private set; }

    /// <summary>Loads the overview.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Overview = await queries.OverviewAsync(cancellationToken);
        try
        {
            SiloRates = await clusterRates.SilosAsync(cancellationToken);
            ClusterWide = SiloRates.Count > 0;
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            Overview = Overview with { Problems = [.. Overview.Problems, "cluster rates: " + ex.Message] };
        }

        if (ClusterWide)
        {
            Totals = ClusterRates.Total(SiloRates);
            RateIn = SiloRates.Sum(s => s.RecentIn());
            RateOut = SiloRates.Sum(s => s.RecentOut());
        }
        else
        {
            Totals = rates.Totals;
            var recent = rates.History().TakeLast(5).ToList();
            RateIn = recent.Count == 0 ? 0 : (long)recent.Average(s => s.Published);
            RateOut = recent.Count == 0 ? 0 : (long)recent.Average(s => s.Delivered);
        }
    }
}
