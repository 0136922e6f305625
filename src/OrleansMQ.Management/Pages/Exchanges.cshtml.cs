using Microsoft.AspNetCore.Mvc.RazorPages;
using OrleansMQ.Management.Queries;

namespace OrleansMQ.Management.Pages;

/// <summary>Exchanges and their bindings.</summary>
public sealed class ExchangesModel(ManagementQueries queries) : PageModel
{
    /// <summary>All exchanges.</summary>
    public IReadOnlyList<ExchangeInfo> Exchanges { get; private set; } = [];

    /// <summary>Loads the exchanges.</summary>
    public async Task OnGetAsync(CancellationToken cancellationToken) => Exchanges = await queries.ExchangesAsync(cancellationToken);
}
