using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq cluster status</c>: silos and OrleansMQ grain activations per silo, from Orleans' <see cref="IManagementGrain"/>.</summary>
internal static class ClusterCommands
{
    public static Command Create()
    {
        var all = new Option<bool>("--all") { Description = "Also list silos that left (dead) and Orleans' own grain types." };
        var status = new Command("status", "Show the silos and how many topic, partition, subscription, exchange and router grains each one hosts.")
        {
            all,
        }.Handle(async (ctx, ct) =>
        {
            var broker = await ctx.ConnectAsync(ct);
            var view = await StatusAsync(broker, ctx.Get(all), ct);
            Show(ctx.Output, view);
            return ExitCodes.Ok;
        });

        return new Command("cluster", "The Orleans cluster that runs the broker.") { status };
    }

    private static async Task<ClusterStatusView> StatusAsync(BrokerConnection broker, bool all, CancellationToken ct)
    {
        var management = broker.Grains.GetGrain<IManagementGrain>(0);
        var hosts = (await management.GetDetailedHosts(onlyActive: !all).WaitAsync(ct))
            .OrderBy(h => h.SiloAddress.ToParsableString(), StringComparer.Ordinal)
            .ToList();
        var active = hosts.Where(h => h.Status == SiloStatus.Active).Select(h => h.SiloAddress).ToArray();
        var problems = new List<string>();

        // Statistics are best effort: a silo that is shutting down may not answer, and membership is still worth showing.
        var runtime = new Dictionary<SiloAddress, SiloRuntimeStatistics>();
        try
        {
            var stats = await management.GetRuntimeStatistics(active).WaitAsync(ct);
            for (var i = 0; i < active.Length && i < stats.Length; i++)
            {
                runtime[active[i]] = stats[i];
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            problems.Add("runtime statistics: " + ex.Message);
        }

        var grains = new List<GrainCountView>();
        try
        {
            foreach (var g in await management.GetSimpleGrainStatistics(active).WaitAsync(ct))
            {
                if (GrainTypeName(g.GrainType, all) is { } type)
                {
                    grains.Add(new GrainCountView(type, g.SiloAddress.ToParsableString(), g.ActivationCount));
                }
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            problems.Add("grain statistics: " + ex.Message);
        }

        var silos = hosts.Select(h =>
        {
            runtime.TryGetValue(h.SiloAddress, out var r);
            return new SiloView(
                h.SiloAddress.ToParsableString(), h.SiloName, h.HostName, h.Status.ToString().ToLowerInvariant(),
                h.StartTime == default ? null : new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc)),
                r?.ActivationCount, r is null ? null : (int)r.ClientCount, r?.EnvironmentStatistics.FilteredCpuUsagePercentage,
                r?.EnvironmentStatistics.FilteredMemoryUsageBytes);
        }).ToList();

        return new ClusterStatusView(
            silos,
            [.. grains.OrderBy(g => g.Type, StringComparer.Ordinal).ThenBy(g => g.Silo, StringComparer.Ordinal)],
            problems);
    }

    /// <summary>
    /// "OrleansMQ.Server.Grains.PartitionGrain" → "partition", "TopicDirectoryGrain" → "topic-directory". Orleans' own
    /// types (and others) only with <paramref name="all"/>, under their full names.
    /// </summary>
    internal static string? GrainTypeName(string grainType, bool all)
    {
        var name = grainType.Split(',')[0].Trim();
        if (!name.StartsWith("OrleansMQ.", StringComparison.Ordinal))
        {
            return all ? name : null;
        }

        name = name[(name.LastIndexOf('.') + 1)..];
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick > 0)
        {
            name = name[..tick];
        }

        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > "Grain".Length)
        {
            name = name[..^"Grain".Length];
        }

        return string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }

    private static void Show(CliOutput output, ClusterStatusView view)
    {
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.ClusterStatusView);
            return;
        }

        output.Write(Tables.Heading($"{view.Silos.Count.ToString(CultureInfo.InvariantCulture)} silo(s)"));
        var silos = Tables.Create("Silo", "Name", "Host", "Status", "Started", "#Activations", "#Clients", "#CPU %", "#Memory");
        foreach (var s in view.Silos)
        {
            silos.Row(s.Address, s.Name, s.HostName, s.Status, s.StartTime?.ToString("u", CultureInfo.InvariantCulture), s.Activations, s.Clients,
                s.CpuUsagePercent?.ToString("0.0", CultureInfo.InvariantCulture), s.MemoryUsageBytes is { } m ? ByteSizes.Format(m) : null);
        }

        output.Write(silos);

        if (view.Grains.Count > 0)
        {
            var siloNames = view.Grains.Select(g => g.Silo).Distinct().Order(StringComparer.Ordinal).ToList();
            var grains = Tables.Create(["Grain type", .. siloNames.Select(s => "#" + s)]);
            foreach (var type in view.Grains.GroupBy(g => g.Type))
            {
                grains.Row([type.Key, .. siloNames.Select(s => (object?)type.Where(g => g.Silo == s).Sum(g => g.Activations))]);
            }

            output.Write(Tables.Heading("active grains per silo"));
            output.Write(grains);
        }

        foreach (var problem in view.Problems)
        {
            output.Note("warning: " + problem);
        }
    }
}
