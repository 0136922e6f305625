using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace OrleansMQ.Management.Health;

/// <summary>Readiness: this process's silo is Active in the cluster membership (not joining, shutting down or dead).</summary>
internal sealed class SiloActiveHealthCheck(ILocalSiloDetails silo, IClusterMembershipService membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        var data = new Dictionary<string, object> { ["silo"] = silo.SiloAddress.ToString(), ["status"] = status.ToString() };
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy("The silo is active.", data)
            : HealthCheckResult.Unhealthy($"The silo is {status}.", data: data));
    }
}
