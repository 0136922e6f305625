using System.Globalization;
using OrleansMQ.Benchmarks.Peers;

namespace OrleansMQ.Benchmarks.Gateway;

/// <summary>
/// OrleansMQ through the gateway's STOMP 1.2 over TCP listener with <see cref="StompClient"/>. A producer is one
/// connection; every SEND to <c>/topic/{t}</c> carries a <c>receipt</c> header and is pipelined (the runner keeps up to
/// its window unacknowledged); a RECEIPT confirms that SEND and every earlier one durable, so it completes all pending
/// publishes up to its id. A consumer is one connection with SUBSCRIBE <c>durable-subscription-name</c>,
/// <c>ack:client-individual</c>, <c>prefetch-count:1000</c> and one ACK (or NACK) frame per MESSAGE. Topics and
/// subscriptions are created through the .NET client (setup, not measured).
/// </summary>
internal sealed class StompGatewayDriver(int stompPort, IBenchmarkDriver setup) : IBenchmarkDriver
{
    private const int Prefetch = 1000;

    public string Name => "STOMP/TCP";

    public string Durability => "RECEIPT once the SEND is durable (file log, fsync before ack)";

    public bool FsyncBeforeAck => true;

    public Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken) =>
        setup.CreateTopicAsync(topic, partitions, subscriptions, cancellationToken);

    public async Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        var producer = new Producer(topic);
        producer.Connection = await StompClient.ConnectAsync(stompPort, producer.OnFrame, producer.Fail, cancellationToken);
        return producer;
    }

    public async Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken)
    {
        var consumer = new Consumer(onMessage);
        consumer.Connection = await StompClient.ConnectAsync(stompPort, consumer.OnFrame, ex => Console.Error.WriteLine($"stomp consumer: {ex.Message}"), cancellationToken);
        consumer.Connection.Send("SUBSCRIBE",
        [
            ("id", "0"), ("destination", $"/topic/{topic}"), ("durable-subscription-name", subscription), ("ack", "client-individual"),
            ("prefetch-count", Prefetch.ToString(CultureInfo.InvariantCulture)),
        ]);
        return consumer;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Producer(string topic) : IBenchmarkProducer
    {
        private readonly string _destination = $"/topic/{topic}";
        private readonly Queue<(long Id, TaskCompletionSource Done)> _pending = new();
        private readonly Lock _lock = new();
        private long _nextId;
        private Exception? _failed;

        public StompClient Connection { get; set; } = null!;

        public Task SendAsync(long key, ReadOnlyMemory<byte> payload)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (_failed is not null)
                {
                    done.SetException(_failed);
                    return done.Task;
                }

                var id = ++_nextId;
                _pending.Enqueue((id, done));
                // Queued under the lock: frames leave in id order, so RECEIPT n confirms ids 1..n.
                Connection.Send("SEND", [("destination", _destination), ("receipt", id.ToString(CultureInfo.InvariantCulture))], payload.Span);
            }

            return done.Task;
        }

        public void OnFrame(StompFrame frame)
        {
            if (frame.Command == "RECEIPT" && long.TryParse(frame["receipt-id"], CultureInfo.InvariantCulture, out var confirmed))
            {
                lock (_lock)
                {
                    while (_pending.TryPeek(out var head) && head.Id <= confirmed)
                    {
                        _pending.Dequeue().Done.TrySetResult();
                    }
                }
            }
            else if (frame.Command == "ERROR")
            {
                Fail(new IOException($"STOMP ERROR: {frame["message"]} ({frame["omq-error-code"]})"));
            }
        }

        public void Fail(Exception error)
        {
            lock (_lock)
            {
                _failed ??= error;
                while (_pending.TryDequeue(out var pending))
                {
                    pending.Done.TrySetException(error);
                }
            }
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    private sealed class Consumer(Func<ReadOnlyMemory<byte>, bool> onMessage) : IBenchmarkConsumer
    {
        public StompClient Connection { get; set; } = null!;

        public void OnFrame(StompFrame frame)
        {
            if (frame.Command == "MESSAGE" && frame["ack"] is { } ackId)
            {
                Connection.Send(onMessage(frame.Body) ? "ACK" : "NACK", [("id", ackId)]);
            }
            else if (frame.Command == "ERROR")
            {
                Console.Error.WriteLine($"stomp consumer: ERROR {frame["message"]} ({frame["omq-error-code"]})");
            }
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
