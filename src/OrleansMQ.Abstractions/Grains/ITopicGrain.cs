using Orleans.Concurrency;

namespace OrleansMQ.Grains;

/// <summary>A topic's metadata: definition, subscriptions and their push targets. Keyed by the topic name.</summary>
[Alias("omq.ITopicGrain")]
public interface ITopicGrain : IGrainWithStringKey
{
    /// <summary>Creates the topic, or returns it when it exists with the same definition; <see cref="ErrorCode.AlreadyExists"/> otherwise.</summary>
    [Alias("Create")]
    Task<TopicInfo> CreateAsync(TopicSpec spec);

    /// <summary>The topic, or null when it does not exist.</summary>
    [Alias("TryGet"), AlwaysInterleave]
    Task<TopicInfo?> TryGetAsync();

    /// <summary>A subscription's definition and push target, or null when the topic or subscription does not exist.</summary>
    [Alias("SubscriptionConfig"), AlwaysInterleave]
    Task<SubscriptionConfig?> GetSubscriptionConfigAsync(string subscription);

    /// <summary>Deletes the topic, its subscriptions and its data. <see cref="ErrorCode.NotFound"/> when it does not exist.</summary>
    [Alias("Delete")]
    Task DeleteAsync();

    /// <summary>Creates a durable subscription, or returns it when it exists with the same definition.</summary>
    [Alias("CreateSubscription")]
    Task<SubscriptionSpec> CreateSubscriptionAsync(string subscription, SubscriptionSpec spec);

    /// <summary>Deletes a subscription and its cursors.</summary>
    [Alias("DeleteSubscription")]
    Task DeleteSubscriptionAsync(string subscription);

    /// <summary>Attaches a subscriber grain that the broker pushes batches to (replacing any earlier one), or detaches it with null.</summary>
    [Alias("SetSubscriber")]
    Task SetSubscriberAsync(string subscription, IMessageConsumerGrain? subscriber);

    /// <summary>Makes sure every subscriber grain attached to this topic is being pushed to (after a silo start).</summary>
    [Alias("ResumePush")]
    Task ResumePushAsync();

    /// <summary>Moves up to <paramref name="maxMessages"/> messages from the subscription's dead-letter topic back to this topic. Returns how many moved.</summary>
    [Alias("Redrive")]
    Task<int> RedriveAsync(string subscription, int maxMessages);

    /// <summary>
    /// Drops the subscription's pending dead letters: re-drive will never move them (they stay readable in the dead-letter
    /// topic until its retention removes them). Returns how many were pending.
    /// </summary>
    [Alias("PurgeDeadLetters")]
    Task<long> PurgeDeadLettersAsync(string subscription);

    /// <summary>The first offset of the subscription's dead-letter topic (partition 0) not yet re-driven or purged.</summary>
    [Alias("RedriveOffset")]
    Task<long> GetRedriveOffsetAsync(string subscription);
}
