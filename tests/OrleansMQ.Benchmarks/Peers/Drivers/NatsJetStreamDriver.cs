using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace OrleansMQ.Benchmarks.Peers.Drivers;

/// <summary>
/// NATS JetStream through NATS.Net: a topic is a file-storage stream with a subject per partition
/// (<c>{topic}.{p}</c>), a subscription a durable pull consumer with explicit acks (consumers on it compete). Publishes
/// await the stream's PubAck. Consumers use <c>ConsumeAsync</c> with 1000 messages of credit and ack or nak (immediate
/// redelivery) each message.
/// </summary>
internal sealed class NatsJetStreamDriver : IBenchmarkDriver
{
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly string _serverVersion;

    private NatsJetStreamDriver(NatsConnection connection, string serverVersion)
    {
        _connection = connection;
        _js = new NatsJSContext(connection);
        _serverVersion = serverVersion;
    }

    public string Name => "NATS JetStream";

    public string Durability =>
        $"file storage; PubAck after the write to the OS page cache, not after fsync: nats-server {_serverVersion} fsyncs stream files every 2 min " +
        "(sync_interval, and its `always`, came with 2.10; this version rejects the field)";

    public bool FsyncBeforeAck => false;

    public static async Task<IBenchmarkDriver> ConnectAsync(int port, string serverVersion, CancellationToken cancellationToken)
    {
        var connection = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}", Name = "omq-bench" });
        await connection.ConnectAsync();
        return new NatsJetStreamDriver(connection, serverVersion);
    }

    public async Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken)
    {
        await _js.CreateStreamAsync(new StreamConfig(topic, [$"{topic}.*"]) { Storage = StreamConfigStorage.File }, cancellationToken);
        foreach (var subscription in subscriptions)
        {
            await _js.CreateOrUpdateConsumerAsync(topic, new ConsumerConfig(subscription)
            {
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                MaxAckPending = 20_000,
            }, cancellationToken);
        }
    }

    public Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkProducer>(new Producer(_js, [.. Enumerable.Range(0, partitions).Select(p => $"{topic}.{p}")]));

    public async Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken)
    {
        var consumer = await _js.GetConsumerAsync(topic, subscription, cancellationToken);
        return new Consumer(consumer, onMessage);
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();

    private sealed class Producer(NatsJSContext js, string[] subjects) : IBenchmarkProducer
    {
        public async Task SendAsync(long key, ReadOnlyMemory<byte> payload)
        {
            var ack = await js.PublishAsync(subjects[key % subjects.Length], payload);
            ack.EnsureSuccess();
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Consumer : IBenchmarkConsumer
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Consumer(INatsJSConsumer consumer, Func<ReadOnlyMemory<byte>, bool> onMessage) =>
            _loop = Task.Run(() => ConsumeAsync(consumer, onMessage));

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private async Task ConsumeAsync(INatsJSConsumer consumer, Func<ReadOnlyMemory<byte>, bool> onMessage)
        {
            try
            {
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 1000 }, cancellationToken: _stop.Token))
                {
                    if (onMessage(msg.Data ?? []))
                    {
                        await msg.AckAsync(cancellationToken: _stop.Token);
                    }
                    else
                    {
                        await msg.NakAsync(cancellationToken: _stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }
    }
}
