namespace OrleansMQ.Cli.Views;

/// <summary>
/// <c>omq cluster status</c>: the silos from Orleans' membership and how many activations of OrleansMQ's grain types
/// each one hosts. What Orleans could not tell is null, with the reason in <see cref="Problems"/>.
/// </summary>
internal sealed record ClusterStatusView(IReadOnlyList<SiloView> Silos, IReadOnlyList<GrainCountView> Grains, IReadOnlyList<string> Problems);

/// <summary>One silo.</summary>
internal sealed record SiloView(
    string Address,
    string? Name,
    string? HostName,
    string Status,
    DateTimeOffset? StartTime,
    int? Activations,
    int? Clients,
    float? CpuUsagePercent,
    long? MemoryUsageBytes);

/// <summary>Activations of one grain type on one silo (<c>partition</c>, <c>subscription</c>, <c>topic</c>, …).</summary>
internal sealed record GrainCountView(string Type, string Silo, int Activations);
