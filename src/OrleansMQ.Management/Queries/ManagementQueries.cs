using OrleansMQ.Client;

namespace OrleansMQ.Management.Queries;

/// <summary>Reads what the pages show, through the client library's admin API (and Orleans' management grain for silos).</summary>
public sealed class ManagementQueries(IOrleansMQClient client, IGrainFactory grains)
{
    private IOrleansMQAdmin Admin => client.Admin;

    /// <summary>Silos, topics with their partitions, and what could not be read.</summary>
    public async Task<Overview> OverviewAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var silos = await SilosAsync(problems, cancellationToken);
        var names = await Admin.ListTopicsAsync(cancellationToken);
        var topics = await Task.WhenAll(names.Select(async name =>
        {
            try
            {
                return await TopicAsync(name, cancellationToken);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
            {
                return null; // deleted meanwhile
            }
        }));
        return new Overview(silos, [.. topics.OfType<TopicSummary>()], problems);
    }

    /// <summary>A topic with its partitions. <see cref="ErrorCode.NotFound"/> when it does not exist.</summary>
    public async Task<TopicSummary> TopicAsync(string topic, CancellationToken cancellationToken)
    {
        var info = await Admin.GetTopicAsync(topic, cancellationToken);
        var partitions = await Admin.GetPartitionsAsync(topic, cancellationToken);
        return new TopicSummary(info, partitions);
    }

    /// <summary>The topic's subscriptions with their cursor state.</summary>
    public async Task<IReadOnlyList<SubscriptionSummary>> SubscriptionsAsync(TopicInfo topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return await Task.WhenAll(topic.Subscriptions.OrderBy(s => s.Key, StringComparer.Ordinal).Select(async s =>
            new SubscriptionSummary(s.Key, s.Value, await Admin.GetSubscriptionStatsAsync(topic.Name, s.Key, cancellationToken), s.Value.DeadLetterTopicFor(topic.Name, s.Key))));
    }

    /// <summary>The subscription's pending dead letters (not yet re-driven or purged).</summary>
    public Task<IReadOnlyList<StoredMessage>> DeadLettersAsync(string topic, string subscription, int max, CancellationToken cancellationToken) =>
        Admin.ListDeadLettersAsync(topic, subscription, max, cancellationToken);

    /// <summary>All exchanges with their bindings.</summary>
    public async Task<IReadOnlyList<ExchangeInfo>> ExchangesAsync(CancellationToken cancellationToken)
    {
        var names = await Admin.ListExchangesAsync(cancellationToken);
        var infos = await Task.WhenAll(names.Select(async n =>
        {
            try
            {
                return await Admin.GetExchangeAsync(n, cancellationToken);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
            {
                return null;
            }
        }));
        return [.. infos.OfType<ExchangeInfo>()];
    }

    private async Task<IReadOnlyList<SiloView>> SilosAsync(List<string> problems, CancellationToken cancellationToken)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = (await management.GetDetailedHosts(onlyActive: true).WaitAsync(cancellationToken))
            .OrderBy(h => h.SiloAddress.ToParsableString(), StringComparer.Ordinal).ToList();
        var stats = new Dictionary<SiloAddress, SiloRuntimeStatistics>();
        try
        {
            var addresses = hosts.Select(h => h.SiloAddress).ToArray();
            var runtime = await management.GetRuntimeStatistics(addresses).WaitAsync(cancellationToken);
            for (var i = 0; i < addresses.Length && i < runtime.Length; i++)
            {
                stats[addresses[i]] = runtime[i];
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            problems.Add("runtime statistics: " + ex.Message);
        }

        return [.. hosts.Select(h =>
        {
            var s = stats.GetValueOrDefault(h.SiloAddress);
            return new SiloView(h.SiloAddress.ToParsableString(), h.SiloName, h.Status.ToString(), s?.ActivationCount,
                s?.EnvironmentStatistics.FilteredCpuUsagePercentage, s?.EnvironmentStatistics.FilteredMemoryUsageBytes);
        })];
    }
}
