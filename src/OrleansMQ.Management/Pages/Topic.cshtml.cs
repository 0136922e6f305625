using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using OrleansMQ.Management.Queries;

namespace OrleansMQ.Management.Pages;

/// <summary>One topic or queue: partitions, subscriptions, pending dead letters, and the publish/re-drive/purge forms.</summary>
public sealed class TopicModel(ManagementQueries queries, IOptions<OrleansMQManagementOptions> options) : PageModel
{
    /// <summary>The topic name from the route.</summary>
    public string Name { get; private set; } = "";

    /// <summary>The topic, or null when it does not exist.</summary>
    public TopicSummary? Topic { get; private set; }

    /// <summary>Its subscriptions.</summary>
    public IReadOnlyList<SubscriptionSummary> Subscriptions { get; private set; } = [];

    /// <summary>Pending dead letters by subscription.</summary>
    public Dictionary<string, IReadOnlyList<StoredMessage>> DeadLetters { get; } = new(StringComparer.Ordinal);

    /// <summary>Most dead letters listed per subscription.</summary>
    public int DeadLettersShown => options.Value.DeadLettersShown;

    /// <summary>Loads the topic.</summary>
    public async Task OnGetAsync(string name, CancellationToken cancellationToken)
    {
        Name = name;
        try
        {
            Topic = await queries.TopicAsync(name, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code is ErrorCode.NotFound or ErrorCode.InvalidName)
        {
            Response.StatusCode = 404;
            return;
        }

        Subscriptions = await queries.SubscriptionsAsync(Topic.Info, cancellationToken);
        foreach (var s in Subscriptions)
        {
            DeadLetters[s.Name] = await queries.DeadLettersAsync(name, s.Name, DeadLettersShown, cancellationToken);
        }
    }
}
