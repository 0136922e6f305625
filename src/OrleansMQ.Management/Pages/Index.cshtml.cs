using Microsoft.AspNetCore.Mvc.RazorPages;
using OrleansMQ.Management.Queries;
using OrleansMQ.Management.Rates;

namespace OrleansMQ.Management.Pages;

/// <summary>The overview: silos, totals, live rates, topics and queues, and the create form.</summary>
public sealed class IndexModel(ManagementQueries queries, RateSampler rates) : PageModel
{
    /// <summary>What the page shows.</summary>
    public Overview Overview { get; private set; } = null!;

    /// <summary>Counted since start on this silo.</summary>
    public (long Published, long Delivered, long Acked, long DeadLettered) Totals { get; private set; }

    /// <summary>Published per second, averaged over the last 5 s.</summary>
    public long RateIn { get; private set; }

    /// <summary>Delivered per second, averaged over the last 5 s.</summary>
    public long RateOut { get; private set; }

    /// <summary>Loads the overview.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Overview = await queries.OverviewAsync(cancellationToken);
        Totals = rates.Totals;
        var recent = rates.History().TakeLast(5).ToList();
        RateIn = recent.Count == 0 ? 0 : (long)recent.Average(s => s.Published);
        RateOut = recent.Count == 0 ? 0 : (long)recent.Average(s => s.Delivered);
    }
}
