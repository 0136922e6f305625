namespace OrleansMQ.Benchmarks.Peers;

/// <summary>
/// One broker under test, reached through its real .NET client (an OpenMessaging-Benchmark-style driver). A driver
/// is created per workload run against an already running server and disposed after it; it deletes nothing, the
/// server's data directory is thrown away with the server.
/// </summary>
internal interface IBenchmarkDriver : IAsyncDisposable
{
    /// <summary>Row label, e.g. "RabbitMQ quorum".</summary>
    string Name { get; }

    /// <summary>What an acknowledged publish means on this driver (fsync before ack or not), for the report.</summary>
    string Durability { get; }

    /// <summary>Whether <see cref="Durability"/> is fsync-before-ack (the like-for-like comparison) or relaxed.</summary>
    bool FsyncBeforeAck { get; }

    /// <summary>Creates a topic with its subscriptions (each subscription receives every message of the topic).</summary>
    Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken);

    /// <summary>A producer on <paramref name="topic"/>; spreads messages over the topic's partitions.</summary>
    Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken);

    /// <summary>
    /// A consumer on a subscription (consumers on one subscription compete). <paramref name="onMessage"/> is called per
    /// delivery; it returns true to ack, false to nack (requeue for redelivery).
    /// </summary>
    Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken);
}

/// <summary>A producer: <see cref="SendAsync"/> completes when the broker acknowledged the message (see the driver's durability).</summary>
internal interface IBenchmarkProducer : IAsyncDisposable
{
    /// <summary>Publishes one message; <paramref name="key"/> picks the partition (round robin over sequence numbers).</summary>
    Task SendAsync(long key, ReadOnlyMemory<byte> payload);
}

/// <summary>A running consumer; disposing stops it.</summary>
internal interface IBenchmarkConsumer : IAsyncDisposable;
