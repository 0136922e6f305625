using OrleansMQ.Client;

namespace OrleansMQ.Management.Actions;

/// <summary>
/// Every change the management page can make, through the client library's admin API. The page reaches these only
/// through the endpoints of <see cref="ManagementActionEndpoints"/> (one route group), so an authorization rule on that
/// group covers all of them.
/// </summary>
public sealed class ManagementActions(IOrleansMQClient client)
{
    /// <summary>Creates a topic with <paramref name="partitions"/> partitions (idempotent for the same definition).</summary>
    public Task<TopicInfo> CreateTopicAsync(string topic, int partitions, CancellationToken cancellationToken) =>
        client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = partitions }, cancellationToken);

    /// <summary>Creates a queue (a topic with a Shared subscription <c>queue</c>).</summary>
    public Task<TopicInfo> CreateQueueAsync(string queue, int partitions, CancellationToken cancellationToken) =>
        client.Admin.CreateQueueAsync(queue, new QueueSpec { Partitions = partitions }, cancellationToken);

    /// <summary>Publishes one text message (durable when it returns).</summary>
    public async Task<PublishReceipt> PublishAsync(string topic, string text, string? key, CancellationToken cancellationToken) =>
        await client.PublishAsync(topic, Message.FromText(text, key: string.IsNullOrEmpty(key) ? null : key), cancellationToken);

    /// <summary>Moves the subscription's dead letters back to the topic.</summary>
    public Task<int> RedriveAsync(string topic, string subscription, CancellationToken cancellationToken) =>
        client.Admin.RedriveAsync(topic, subscription, cancellationToken: cancellationToken);

    /// <summary>Drops the subscription's pending dead letters.</summary>
    public Task<long> PurgeDeadLettersAsync(string topic, string subscription, CancellationToken cancellationToken) =>
        client.Admin.PurgeDeadLettersAsync(topic, subscription, cancellationToken);
}
