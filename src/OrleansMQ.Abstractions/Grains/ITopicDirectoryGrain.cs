namespace OrleansMQ.Grains;

/// <summary>
/// The list of topics (one instance, key <see cref="Key"/>). Only topic create/delete and subscriber changes write to
/// it, so it is never on the message path.
/// </summary>
[Alias("omq.ITopicDirectoryGrain")]
public interface ITopicDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the single directory grain.</summary>
    public const string Key = "all";

    /// <summary>Records a topic, and whether any of its subscriptions has a subscriber grain to push to.</summary>
    [Alias("Upsert")]
    Task UpsertAsync(string topic, bool hasSubscribers);

    /// <summary>Forgets a topic.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string topic);

    /// <summary>All topic names, ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> ListAsync();

    /// <summary>Topics with at least one subscriber grain (their push loops are restarted when a silo starts).</summary>
    [Alias("WithSubscribers")]
    Task<IReadOnlyList<string>> ListWithSubscribersAsync();
}
