using OrleansMQ.Client;

namespace OrleansMQ.Benchmarks.Peers.Drivers;

/// <summary>
/// OrleansMQ through its client library (an Orleans client) against a silo-host process: a topic with N partitions,
/// a Shared subscription per OMB subscription, producers batching per partition, consumers with prefetch 1000.
/// </summary>
internal sealed class OrleansMQDriver(IOrleansMQClient client) : IBenchmarkDriver
{
    /// <summary>Consumer credit: the library default (100) throttles a consumer to ~1.8k msg/s per partition (see the harness README, finding 4).</summary>
    private const int Prefetch = 1000;

    /// <summary>
    /// Long-poll length. A poll is answered as soon as records arrive, so this does not change latency; it bounds how long
    /// disposing a consumer waits for its outstanding poll (the default 5 s made every run's teardown take 5 s).
    /// </summary>
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(1);

    public string Name => "OrleansMQ";

    public string Durability => "file log, fsync before ack (Fsync=Always, group commit through the silo-wide journal); subscription cursors durable through the state journal (fdatasync); consumer acks grouped (Delivery.Ack, 10 ms)";

    public bool FsyncBeforeAck => true;

    public async Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken)
    {
        await client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = partitions }, cancellationToken);
        foreach (var subscription in subscriptions)
        {
            // Nacked messages come back after 10 ms (the default backoff is 1 s); the peers redeliver at once or after ~100 ms.
            await client.Admin.CreateSubscriptionAsync(topic, subscription,
                new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest, NackBackoffInitial = TimeSpan.FromMilliseconds(10) }, cancellationToken);
        }
    }

    public Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkProducer>(new Producer(client.CreateProducer(topic, new ProducerOptions())));

    public Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkConsumer>(new Consumer(client.CreateConsumer(topic, subscription, new ConsumerOptions { Prefetch = Prefetch, PollWait = PollWait }), onMessage));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Producer(IProducer producer) : IBenchmarkProducer
    {
        public async Task SendAsync(long key, ReadOnlyMemory<byte> payload) => await producer.PublishAsync(new Message(payload));

        public ValueTask DisposeAsync() => producer.DisposeAsync();
    }

    private sealed class Consumer : IBenchmarkConsumer
    {
        private readonly IConsumer _consumer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Consumer(IConsumer consumer, Func<ReadOnlyMemory<byte>, bool> onMessage)
        {
            _consumer = consumer;
            _loop = Task.Run(() => ConsumeAsync(onMessage));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await _consumer.DisposeAsync();
            _stop.Dispose();
        }

        private async Task ConsumeAsync(Func<ReadOnlyMemory<byte>, bool> onMessage)
        {
            try
            {
                await foreach (var delivery in _consumer.ConsumeAsync(_stop.Token))
                {
                    // Settle without waiting: Ack() is grouped and unconfirmed, like the peers' acks (RabbitMQ basic.ack,
                    // JetStream +ACK, XACK); a nack is not awaited inline either.
                    if (onMessage(delivery.Message.Body))
                    {
                        delivery.Ack();
                    }
                    else
                    {
                        _ = delivery.NackAsync();
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }
    }
}
