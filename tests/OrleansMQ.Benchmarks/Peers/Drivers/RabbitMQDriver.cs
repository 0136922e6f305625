using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace OrleansMQ.Benchmarks.Peers.Drivers;

/// <summary>The two RabbitMQ queue types the report compares.</summary>
internal enum RabbitMQQueueKind
{
    /// <summary>Quorum queue (Raft log, fsync'd before the publisher confirm).</summary>
    Quorum,

    /// <summary>Durable classic queue in lazy mode, persistent messages.</summary>
    ClassicLazy,
}

/// <summary>
/// RabbitMQ through RabbitMQ.Client: a topic is a durable fanout exchange, a subscription a durable queue bound to it
/// (consumers on one queue compete). Publishers use confirms (every publish awaits its confirm, up to the harness's
/// window in flight per channel); consumers prefetch 1000 and ack or nack (requeue) each delivery. RabbitMQ queues are
/// not partitioned, so <c>partitionsPerTopic</c> has no effect here.
/// </summary>
internal sealed class RabbitMQDriver : IBenchmarkDriver
{
    private const ushort Prefetch = 1000;

    private readonly IConnection _connection;
    private readonly RabbitMQQueueKind _kind;

    private RabbitMQDriver(IConnection connection, RabbitMQQueueKind kind)
    {
        _connection = connection;
        _kind = kind;
    }

    public string Name => _kind == RabbitMQQueueKind.Quorum ? "RabbitMQ quorum" : "RabbitMQ classic (lazy)";

    public string Durability => _kind == RabbitMQQueueKind.Quorum
        ? "quorum queue (1 node), persistent messages, publisher confirms: confirmed after the Raft WAL fsync"
        : "durable classic queue, x-queue-mode=lazy, persistent messages, publisher confirms: confirmed once the message store has written and fsync'd it (batched)";

    public bool FsyncBeforeAck => true;

    public static async Task<IBenchmarkDriver> ConnectAsync(int port, RabbitMQQueueKind kind, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = port, UserName = "guest", Password = "guest", ClientProvidedName = "omq-bench" };
        return new RabbitMQDriver(await factory.CreateConnectionAsync(cancellationToken), kind);
    }

    public async Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken)
    {
        await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.ExchangeDeclareAsync(topic, RabbitMQ.Client.ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        foreach (var subscription in subscriptions)
        {
            var arguments = _kind == RabbitMQQueueKind.Quorum
                ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }
                : new Dictionary<string, object?> { ["x-queue-type"] = "classic", ["x-queue-mode"] = "lazy" };
            var queue = QueueName(topic, subscription);
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(queue, topic, routingKey: "", cancellationToken: cancellationToken);
        }
    }

    public async Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        // Confirms tracked by the client: BasicPublishAsync completes when the broker confirmed. The client's own limiter
        // (128 outstanding by default, with throttling delays) is off: the harness bounds publishes in flight itself.
        var channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null),
            cancellationToken);
        return new Producer(channel, topic);
    }

    public async Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken)
    {
        var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: Prefetch, global: false, cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            if (onMessage(delivery.Body))
            {
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            }
            else
            {
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
            }
        };
        await channel.BasicConsumeAsync(QueueName(topic, subscription), autoAck: false, consumer, cancellationToken);
        return new Consumer(channel);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.CloseAsync();
        _connection.Dispose();
    }

    private static string QueueName(string topic, string subscription) => $"{topic}.{subscription}";

    private sealed class Producer(IChannel channel, string exchange) : IBenchmarkProducer
    {
        private static readonly BasicProperties Persistent = new() { DeliveryMode = DeliveryModes.Persistent };

        public async Task SendAsync(long key, ReadOnlyMemory<byte> payload) =>
            await channel.BasicPublishAsync(exchange, routingKey: "", mandatory: false, Persistent, payload);

        public async ValueTask DisposeAsync()
        {
            await channel.CloseAsync();
            channel.Dispose();
        }
    }

    private sealed class Consumer(IChannel channel) : IBenchmarkConsumer
    {
        public async ValueTask DisposeAsync()
        {
            await channel.CloseAsync();
            channel.Dispose();
        }
    }
}
