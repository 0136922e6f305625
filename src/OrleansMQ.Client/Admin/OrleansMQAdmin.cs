using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

internal sealed class OrleansMQAdmin(IGrainFactory grains, TopicCache topics) : IOrleansMQAdmin
{
    public async Task<TopicInfo> CreateTopicAsync(string topic, TopicSpec? spec = null, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        var info = await grains.GetGrain<ITopicGrain>(topic).CreateAsync(spec ?? new TopicSpec()).WaitAsync(cancellationToken).ConfigureAwait(false);
        topics.Invalidate(topic);
        return info;
    }

    public async Task<TopicInfo> CreateQueueAsync(string queue, QueueSpec? spec = null, CancellationToken cancellationToken = default)
    {
        spec ??= new QueueSpec();
        var info = await CreateTopicAsync(queue, new TopicSpec
        {
            Partitions = spec.Partitions,
            Retention = RetentionPolicy.Queue,
            MaxMessageBytes = spec.MaxMessageBytes,
            MaxBacklogMessages = spec.MaxBacklogMessages,
            IsQueue = true,
        }, cancellationToken).ConfigureAwait(false);
        await CreateSubscriptionAsync(queue, IOrleansMQAdmin.QueueSubscription, new SubscriptionSpec
        {
            Type = SubscriptionType.Shared,
            Start = StartPosition.Earliest,
            AckTimeout = spec.AckTimeout,
            MaxDeliveries = spec.MaxDeliveries,
            NackBackoffInitial = spec.NackBackoffInitial,
            NackBackoffMax = TimeSpan.FromTicks(Math.Max(spec.NackBackoffInitial.Ticks, TimeSpan.FromSeconds(60).Ticks)),
        }, cancellationToken).ConfigureAwait(false);
        return await GetTopicAsync(queue, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default) =>
        await grains.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key).ListAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

    public async Task<TopicInfo> GetTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        return await grains.GetGrain<ITopicGrain>(topic).TryGetAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
            ?? throw OrleansMQException.NotFound("Topic", topic);
    }

    public async Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        await grains.GetGrain<ITopicGrain>(topic).DeleteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        topics.Invalidate(topic);
    }

    public async Task<SubscriptionSpec> CreateSubscriptionAsync(string topic, string subscription, SubscriptionSpec? spec = null, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        var created = await grains.GetGrain<ITopicGrain>(topic).CreateSubscriptionAsync(subscription, spec ?? new SubscriptionSpec())
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        topics.Invalidate(topic);
        return created;
    }

    public async Task DeleteSubscriptionAsync(string topic, string subscription, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        await grains.GetGrain<ITopicGrain>(topic).DeleteSubscriptionAsync(subscription).WaitAsync(cancellationToken).ConfigureAwait(false);
        topics.Invalidate(topic);
    }

    public async Task<IReadOnlyList<PartitionInfo>> GetPartitionsAsync(string topic, CancellationToken cancellationToken = default)
    {
        var info = await GetTopicAsync(topic, cancellationToken).ConfigureAwait(false);
        return await Task.WhenAll(Enumerable.Range(0, info.Spec.Partitions)
            .Select(p => grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, p)).GetInfoAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SubscriptionPartitionStats>> GetSubscriptionStatsAsync(string topic, string subscription, CancellationToken cancellationToken = default)
    {
        var info = await RequireSubscriptionAsync(topic, subscription, cancellationToken).ConfigureAwait(false);
        return await Task.WhenAll(Enumerable.Range(0, info.Spec.Partitions)
            .Select(p => grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, p, subscription)).GetStatsAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SeekAsync(string topic, string subscription, StartPosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(position);
        var info = await RequireSubscriptionAsync(topic, subscription, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(Enumerable.Range(0, info.Spec.Partitions)
            .Select(p => grains.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(topic, p, subscription)).SeekAsync(position))).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> RedriveAsync(string topic, string subscription, int maxMessages = int.MaxValue, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        return await grains.GetGrain<ITopicGrain>(topic).RedriveAsync(subscription, maxMessages).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SetSubscriberAsync(string topic, string subscription, IMessageConsumerGrain? subscriber, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        await grains.GetGrain<ITopicGrain>(topic).SetSubscriberAsync(subscription, subscriber).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<TopicInfo> RequireSubscriptionAsync(string topic, string subscription, CancellationToken cancellationToken)
    {
        var info = await GetTopicAsync(topic, cancellationToken).ConfigureAwait(false);
        return info.Subscriptions.ContainsKey(subscription)
            ? info
            : throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
    }

    public Task<ExchangeInfo> CreateExchangeAsync(string exchange, ExchangeSpec? spec = null, CancellationToken cancellationToken = default) =>
        Exchange(exchange).CreateAsync(spec ?? new ExchangeSpec()).WaitAsync(cancellationToken);

    public async Task<ExchangeInfo> GetExchangeAsync(string exchange, CancellationToken cancellationToken = default) =>
        await Exchange(exchange).TryGetAsync().WaitAsync(cancellationToken).ConfigureAwait(false) ?? throw OrleansMQException.NotFound("Exchange", exchange);

    public Task DeleteExchangeAsync(string exchange, CancellationToken cancellationToken = default) =>
        Exchange(exchange).DeleteAsync().WaitAsync(cancellationToken);

    public Task<ExchangeInfo> BindAsync(string exchange, Binding binding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return Exchange(exchange).BindAsync(binding).WaitAsync(cancellationToken);
    }

    public Task<ExchangeInfo> UnbindAsync(string exchange, Binding binding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return Exchange(exchange).UnbindAsync(binding).WaitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListExchangesAsync(CancellationToken cancellationToken = default) =>
        await grains.GetGrain<IExchangeDirectoryGrain>(IExchangeDirectoryGrain.Key).ListAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<StoredMessage>> ListDeadLettersAsync(string topic, string subscription, int maxMessages = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 1000);
        var info = await RequireSubscriptionAsync(topic, subscription, cancellationToken).ConfigureAwait(false);
        var dlq = info.Subscriptions[subscription].DeadLetterTopicFor(topic, subscription);
        var from = await grains.GetGrain<ITopicGrain>(topic).GetRedriveOffsetAsync(subscription).WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var read = await grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(dlq, 0)).ReadAsync(from, maxMessages, 4 << 20).WaitAsync(cancellationToken).ConfigureAwait(false);
            return read.Messages;
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
        {
            return [];
        }
    }

    public async Task<long> PurgeDeadLettersAsync(string topic, string subscription, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        return await grains.GetGrain<ITopicGrain>(topic).PurgeDeadLettersAsync(subscription).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private IExchangeGrain Exchange(string exchange) => grains.GetGrain<IExchangeGrain>(Names.Validate(exchange, "exchange"));
}
