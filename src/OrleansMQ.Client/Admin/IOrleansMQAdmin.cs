using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>Creates, inspects and deletes topics, queues and subscriptions.</summary>
public interface IOrleansMQAdmin
{
    /// <summary>Creates a topic (idempotent for the same definition; <see cref="ErrorCode.AlreadyExists"/> for a different one).</summary>
    Task<TopicInfo> CreateTopicAsync(string topic, TopicSpec? spec = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a queue: a topic whose messages are kept until acknowledged, with a Shared subscription named
    /// <see cref="QueueSubscription"/> that consumers of the queue compete on.
    /// </summary>
    Task<TopicInfo> CreateQueueAsync(string queue, QueueSpec? spec = null, CancellationToken cancellationToken = default);

    /// <summary>The names of all topics and queues (dead-letter topics included), in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default);

    /// <summary>The topic. <see cref="ErrorCode.NotFound"/> when it does not exist.</summary>
    Task<TopicInfo> GetTopicAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>Deletes a topic or queue with its subscriptions and data.</summary>
    Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>Creates a durable subscription (idempotent for the same definition).</summary>
    Task<SubscriptionSpec> CreateSubscriptionAsync(string topic, string subscription, SubscriptionSpec? spec = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a subscription and its cursors.</summary>
    Task DeleteSubscriptionAsync(string topic, string subscription, CancellationToken cancellationToken = default);

    /// <summary>Offsets, size and backlog of every partition.</summary>
    Task<IReadOnlyList<PartitionInfo>> GetPartitionsAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>Cursor state of a subscription on every partition.</summary>
    Task<IReadOnlyList<SubscriptionPartitionStats>> GetSubscriptionStatsAsync(string topic, string subscription, CancellationToken cancellationToken = default);

    /// <summary>Moves a subscription's cursor on every partition (replay from earliest, an offset or a time; or skip to latest).</summary>
    Task SeekAsync(string topic, string subscription, StartPosition position, CancellationToken cancellationToken = default);

    /// <summary>Moves up to <paramref name="maxMessages"/> messages from the subscription's dead-letter topic back to the topic.</summary>
    Task<int> RedriveAsync(string topic, string subscription, int maxMessages = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>Attaches a subscriber grain that the broker pushes to (null detaches).</summary>
    Task SetSubscriberAsync(string topic, string subscription, IMessageConsumerGrain? subscriber, CancellationToken cancellationToken = default);

    /// <summary>Creates an exchange (idempotent for the same definition).</summary>
    Task<ExchangeInfo> CreateExchangeAsync(string exchange, ExchangeSpec? spec = null, CancellationToken cancellationToken = default);

    /// <summary>The exchange with its bindings. <see cref="ErrorCode.NotFound"/> when it does not exist.</summary>
    Task<ExchangeInfo> GetExchangeAsync(string exchange, CancellationToken cancellationToken = default);

    /// <summary>The names of all exchanges, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListExchangesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The subscription's dead letters not yet re-driven or purged (from its dead-letter topic), oldest first, at most
    /// <paramref name="maxMessages"/> (1–1000).
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> ListDeadLettersAsync(string topic, string subscription, int maxMessages = 100, CancellationToken cancellationToken = default);

    /// <summary>Drops the subscription's pending dead letters so re-drive skips them. Returns how many were pending.</summary>
    Task<long> PurgeDeadLettersAsync(string topic, string subscription, CancellationToken cancellationToken = default);

    /// <summary>Deletes an exchange (its destinations are untouched).</summary>
    Task DeleteExchangeAsync(string exchange, CancellationToken cancellationToken = default);

    /// <summary>Binds an exchange to a topic or queue. When it returns, every later publish on every silo routes by it.</summary>
    Task<ExchangeInfo> BindAsync(string exchange, Binding binding, CancellationToken cancellationToken = default);

    /// <summary>Removes a binding. When it returns, no later publish routes by it.</summary>
    Task<ExchangeInfo> UnbindAsync(string exchange, Binding binding, CancellationToken cancellationToken = default);

    /// <summary>The subscription every queue has.</summary>
    public const string QueueSubscription = "queue";
}

/// <summary>The definition of a queue.</summary>
public sealed record QueueSpec
{
    /// <summary>Partitions (more partitions, more parallelism; order is only per partition/key). Default 1.</summary>
    public int Partitions { get; init; } = 1;

    /// <summary>Visibility timeout: how long a consumer holds a message before it comes back. Default 30 s.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries before a message is dead-lettered to <c>{queue}.queue.dlq</c>. Default 5; 0 = never.</summary>
    public int MaxDeliveries { get; init; } = 5;

    /// <summary>Largest message in bytes. Default 1 MiB.</summary>
    public int MaxMessageBytes { get; init; } = MessageLimits.DefaultMaxMessageBytes;

    /// <summary>Most unacknowledged messages per partition before publishes are refused. Default 10 million.</summary>
    public long MaxBacklogMessages { get; init; } = 10_000_000;

    /// <summary>Nack backoff start. Default 1 s.</summary>
    public TimeSpan NackBackoffInitial { get; init; } = TimeSpan.FromSeconds(1);
}
