using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Server.Grains;

/// <summary>A topic's metadata. Not on the hot path: producers and consumers cache what they read from it.</summary>
[GrainType("omq.topic")]
internal sealed partial class TopicGrain(
    [PersistentState("topic", OrleansMQServerOptions.GrainStorageName)] IPersistentState<TopicState> state,
    [FromKeyedServices(OrleansMQServerOptions.TimeProviderKey)] TimeProvider time,
    Transforms.TransformPipeline transforms,
    ILogger<TopicGrain> logger) : Grain, ITopicGrain
{
    /// <summary>Header names the dead-letter step adds, and re-drive removes.</summary>
    internal static readonly string[] DeadLetterHeaders =
        [Headers.DeadLetterReason, Headers.OriginalTopic, Headers.OriginalPartition, Headers.OriginalOffset, Headers.OriginalSubscription, Headers.DeliveryCount];

    private string Name => this.GetPrimaryKeyString();

    private ITopicDirectoryGrain Directory => GrainFactory.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key);

    public async Task<TopicInfo> CreateAsync(TopicSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Names.Validate(Name, "topic");
        spec.Validate(Name);
        if (state.State.Info is { } existing)
        {
            if (existing.Spec == spec)
            {
                return existing;
            }

            throw new OrleansMQException(ErrorCode.AlreadyExists,
                $"Topic '{Name}' already exists with a different definition ({existing.Spec.Partitions} partitions, queue: {existing.Spec.IsQueue}).");
        }

        state.State.Info = new TopicInfo { Name = Name, Spec = spec, CreatedAt = time.GetUtcNow(), Incarnation = Guid.NewGuid() };
        state.State.Subscribers.Clear();
        state.State.RedriveOffsets.Clear();
        await state.WriteStateAsync();
        await BroadcastTopicAsync();
        await Directory.UpsertAsync(Name, hasSubscribers: false);
        LogCreated(logger, Name, spec.Partitions);
        return state.State.Info;
    }

    public Task<TopicInfo?> TryGetAsync() => Task.FromResult(state.State.Info);

    public Task<SubscriptionConfig?> GetSubscriptionConfigAsync(string subscription)
    {
        if (state.State.Info is not { } info || !info.Subscriptions.TryGetValue(subscription, out var spec))
        {
            return Task.FromResult<SubscriptionConfig?>(null);
        }

        return Task.FromResult<SubscriptionConfig?>(ConfigFor(info, subscription, spec));
    }

    public async Task DeleteAsync()
    {
        var info = RequireInfo();
        foreach (var subscription in info.Subscriptions.Keys)
        {
            await ForEachPartitionAsync(info, p => GrainFactory.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(Name, p, subscription)).DeleteAsync());
        }

        await ForEachPartitionAsync(info, p => GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(Name, p)).DeleteAsync());
        await state.ClearStateAsync();
        state.State = new TopicState();
        await Directory.RemoveAsync(Name);
        LogDeleted(logger, Name);
    }

    public async Task<SubscriptionSpec> CreateSubscriptionAsync(string subscription, SubscriptionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var info = RequireInfo();
        spec.Validate(Name, subscription);
        transforms.Validate(spec.Transforms, $"Subscription '{subscription}' on '{Name}'");
        if (info.Subscriptions.TryGetValue(subscription, out var existing))
        {
            if (existing == spec)
            {
                return existing;
            }

            throw new OrleansMQException(ErrorCode.AlreadyExists,
                $"Subscription '{subscription}' on '{Name}' already exists with a different definition (type {existing.Type}).");
        }

        if (spec.MaxDeliveries > 0 || spec.Transforms is { Count: > 0 } || info.Spec.ExpiredToDeadLetter)
        {
            var dlq = spec.DeadLetterTopicFor(Name, subscription);
            if (dlq == Name)
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument, $"Subscription '{subscription}' on '{Name}': the dead-letter topic cannot be the topic itself.");
            }

            var dlqGrain = GrainFactory.GetGrain<ITopicGrain>(dlq);
            if (await dlqGrain.TryGetAsync() is null)
            {
                await dlqGrain.CreateAsync(new TopicSpec { Partitions = 1, Retention = new RetentionPolicy { MaxAge = TimeSpan.FromDays(14) } });
            }
        }

        var subscriptions = new Dictionary<string, SubscriptionSpec>(info.Subscriptions, StringComparer.Ordinal) { [subscription] = spec };
        state.State.Info = info with { Subscriptions = subscriptions };
        await state.WriteStateAsync();
        await ConfigureSubscriptionAsync(subscription);
        await BroadcastTopicAsync();
        LogSubscriptionCreated(logger, Name, subscription, spec.Type);
        return spec;
    }

    public async Task DeleteSubscriptionAsync(string subscription)
    {
        var info = RequireInfo();
        if (!info.Subscriptions.ContainsKey(subscription))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{Name}' does not exist.");
        }

        var subscriptions = new Dictionary<string, SubscriptionSpec>(info.Subscriptions, StringComparer.Ordinal);
        subscriptions.Remove(subscription);
        state.State.Info = info with { Subscriptions = subscriptions };
        var hadSubscriber = state.State.Subscribers.Remove(subscription);
        state.State.RedriveOffsets.Remove(subscription);
        await state.WriteStateAsync();
        await BroadcastTopicAsync();
        if (hadSubscriber)
        {
            await Directory.UpsertAsync(Name, state.State.Subscribers.Count > 0);
        }

        await ForEachPartitionAsync(info, p => GrainFactory.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(Name, p, subscription)).DeleteAsync());
    }

    public async Task SetSubscriberAsync(string subscription, IMessageConsumerGrain? subscriber)
    {
        var info = RequireInfo();
        RequireSubscription(info, subscription);
        if (subscriber is null)
        {
            state.State.Subscribers.Remove(subscription);
        }
        else
        {
            state.State.Subscribers[subscription] = subscriber;
        }

        await state.WriteStateAsync();
        await ConfigureSubscriptionAsync(subscription);
        await Directory.UpsertAsync(Name, state.State.Subscribers.Count > 0);
    }

    public async Task ResumePushAsync()
    {
        if (state.State.Info is not { } info)
        {
            return;
        }

        foreach (var subscription in state.State.Subscribers.Keys.Where(info.Subscriptions.ContainsKey))
        {
            await ConfigureSubscriptionAsync(subscription);
        }
    }

    public async Task<int> RedriveAsync(string subscription, int maxMessages)
    {
        var info = RequireInfo();
        var spec = RequireSubscription(info, subscription);
        if (maxMessages < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Re-drive of '{Name}/{subscription}': maxMessages {maxMessages} must be ≥ 1.");
        }

        var dlq = GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(spec.DeadLetterTopicFor(Name, subscription), 0));
        var from = state.State.RedriveOffsets.GetValueOrDefault(subscription);
        var moved = 0;
        while (moved < maxMessages)
        {
            var read = await dlq.ReadAsync(from, Math.Min(256, maxMessages - moved), 4 << 20);
            if (read.Messages.Count == 0)
            {
                break;
            }

            var byPartition = new Dictionary<int, List<Message>>();
            foreach (var m in read.Messages)
            {
                var headers = m.Headers.Where(h => !DeadLetterHeaders.Contains(h.Key)).ToDictionary(StringComparer.Ordinal);
                headers[Headers.Redriven] = "true";
                var partition = m.Headers.TryGetValue(Headers.OriginalPartition, out var p) && int.TryParse(p, out var pi) && pi < info.Spec.Partitions ? pi : 0;
                if (!byPartition.TryGetValue(partition, out var list))
                {
                    byPartition[partition] = list = [];
                }

                list.Add(new Message(m.Body) { Key = m.Key, MessageId = m.MessageId, ContentType = m.ContentType, Headers = headers, Timestamp = m.Timestamp });
            }

            // At-least-once: a crash between these appends and the cursor write below re-drives the batch again.
            foreach (var (partition, list) in byPartition)
            {
                await GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(Name, partition)).AppendAsync(new AppendRequest { Messages = list });
            }

            from = read.Messages[^1].Offset + 1;
            moved += read.Messages.Count;
            state.State.RedriveOffsets[subscription] = from;
            await state.WriteStateAsync();
        }

        return moved;
    }

    public async Task<long> PurgeDeadLettersAsync(string subscription)
    {
        var info = RequireInfo();
        var spec = RequireSubscription(info, subscription);
        var dlq = await GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(spec.DeadLetterTopicFor(Name, subscription), 0)).GetInfoAsync();
        var from = Math.Max(state.State.RedriveOffsets.GetValueOrDefault(subscription), dlq.LowWatermark);
        if (dlq.HighWatermark <= from)
        {
            return 0;
        }

        state.State.RedriveOffsets[subscription] = dlq.HighWatermark;
        await state.WriteStateAsync();
        return dlq.HighWatermark - from;
    }

    public Task<long> GetRedriveOffsetAsync(string subscription)
    {
        RequireSubscription(RequireInfo(), subscription);
        return Task.FromResult(state.State.RedriveOffsets.GetValueOrDefault(subscription));
    }

    private async Task ConfigureSubscriptionAsync(string subscription)
    {
        var info = RequireInfo();
        var config = ConfigFor(info, subscription, info.Subscriptions[subscription]);
        await ForEachPartitionAsync(info, p => GrainFactory.GetGrain<ISubscriptionGrain>(GrainKeys.Subscription(Name, p, subscription)).ConfigureAsync(config));
    }

    private SubscriptionConfig ConfigFor(TopicInfo info, string subscription, SubscriptionSpec spec) => new()
    {
        Spec = spec,
        Subscriber = state.State.Subscribers.GetValueOrDefault(subscription),
        TopicIncarnation = info.Incarnation,
        MessageTtl = info.Spec.MessageTtl,
        ExpiredToDeadLetter = info.Spec.ExpiredToDeadLetter,
    };

    private Task BroadcastTopicAsync()
    {
        var info = RequireInfo();
        return ForEachPartitionAsync(info, p => GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(Name, p)).TopicChangedAsync(info));
    }

    private static Task ForEachPartitionAsync(TopicInfo info, Func<int, Task> action) =>
        Task.WhenAll(Enumerable.Range(0, info.Spec.Partitions).Select(action));

    private TopicInfo RequireInfo() => state.State.Info ?? throw OrleansMQException.NotFound("Topic", Name);

    private SubscriptionSpec RequireSubscription(TopicInfo info, string subscription) =>
        info.Subscriptions.TryGetValue(subscription, out var spec)
            ? spec
            : throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{Name}' does not exist.");

    [LoggerMessage(1101, LogLevel.Information, "Topic {Topic} created with {Partitions} partitions")]
    private static partial void LogCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(1102, LogLevel.Information, "Topic {Topic} deleted")]
    private static partial void LogDeleted(ILogger logger, string topic);

    [LoggerMessage(1103, LogLevel.Information, "Subscription {Subscription} ({Type}) created on {Topic}")]
    private static partial void LogSubscriptionCreated(ILogger logger, string topic, string subscription, SubscriptionType type);
}

/// <summary>The persisted state of a topic grain.</summary>
[GenerateSerializer, Alias("omq.topic-state")]
internal sealed class TopicState
{
    [Id(0)] public TopicInfo? Info { get; set; }

    [Id(1)] public Dictionary<string, IMessageConsumerGrain> Subscribers { get; set; } = new(StringComparer.Ordinal);

    [Id(2)] public Dictionary<string, long> RedriveOffsets { get; set; } = new(StringComparer.Ordinal);
}
