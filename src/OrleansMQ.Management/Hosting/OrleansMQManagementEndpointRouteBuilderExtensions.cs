using System.Reflection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Management.Actions;
using OrleansMQ.Management.Health;
using OrleansMQ.Management.Rates;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the management page and the health endpoints.</summary>
public static class OrleansMQManagementEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the management page under <c>/ui</c> (Razor Pages), its JSON rate feeds <c>/ui/api/rates</c> (the cluster's
    /// per-second rates: every running silo's summed) and <c>/ui/api/rates/silos</c> (each silo's), the vendored
    /// Chart.js at <c>/ui/lib/chart.umd.min.js</c>, and its actions under <c>/ui/actions</c>. Returns the actions' route
    /// group: every change the page makes goes through it, so <c>.RequireAuthorization(policy)</c> on it guards them all.
    /// </summary>
    public static RouteGroupBuilder MapOrleansMQManagement(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapRazorPages();
        endpoints.MapGet("/ui/api/rates", async (ClusterRates cluster, RateSampler local, CancellationToken cancellationToken) =>
        {
            // This silo's own samples when the board cannot be read (the silo is still starting).
            var silos = await ReadBoardAsync(cluster, cancellationToken);
            return Results.Json(silos is { Count: > 0 } ? ClusterRates.Sum(silos) : local.History());
        }).ExcludeFromDescription();
        endpoints.MapGet("/ui/api/rates/silos", async (ClusterRates cluster, CancellationToken cancellationToken) =>
            await ReadBoardAsync(cluster, cancellationToken) is { } silos ? Results.Json(silos) : Results.StatusCode(StatusCodes.Status503ServiceUnavailable))
            .ExcludeFromDescription();
        endpoints.MapGet("/ui/lib/chart.umd.min.js", () =>
        {
            var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("OrleansMQ.Management.chart.umd.min.js")!;
            return Results.Stream(stream, "text/javascript");
        }).ExcludeFromDescription();
        return ManagementActionEndpoints.Map(endpoints);
    }

    private static async Task<IReadOnlyList<SiloRates>?> ReadBoardAsync(ClusterRates cluster, CancellationToken cancellationToken)
    {
        try
        {
            return await cluster.SilosAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Maps <c>/health/live</c> (liveness: the process answers; no checks run) and <c>/health/ready</c> (readiness: every
    /// check tagged <c>ready</c>: storage writable/reachable, silo active). Unhealthy answers 503. JSON bodies.
    /// </summary>
    public static IEndpointRouteBuilder MapOrleansMQHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponseWriter.WriteAsync });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(OrleansMQManagementServiceCollectionExtensions.ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
        });
        return endpoints;
    }
}
