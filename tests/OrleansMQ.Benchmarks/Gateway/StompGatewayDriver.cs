using System.Globalization;
using System.Threading.Channels;
using OrleansMQ.Benchmarks.Peers;

namespace OrleansMQ.Benchmarks.Gateway;

/// <summary>
/// OrleansMQ through the gateway's STOMP 1.2 over TCP listener with <see cref="StompClient"/>. A producer is one
/// connection; SENDs to <c>/topic/{t}</c> are pipelined (the runner keeps up to its window unacknowledged) and a RECEIPT
/// confirms its SEND and every earlier one durable, so it completes all pending publishes up to its id. With
/// <c>receiptPerSend</c> every SEND carries a <c>receipt</c> header and all are written at once; without, the producer
/// keeps one burst in flight: it writes what is waiting (≤ 1000 SENDs) with the <c>receipt</c> on the burst's last SEND
/// only, and gathers the next burst until that RECEIPT arrives (the gateway stops reading the connection until a
/// receipt's SENDs are durable, so receipts on every SEND cost one log append each, and bursts that do not wait pile up
/// behind each other's appends). A consumer is one connection with SUBSCRIBE <c>durable-subscription-name</c>,
/// <c>ack:client-individual</c>, <c>prefetch-count:1000</c> and one ACK (or NACK) frame per MESSAGE. Topics and
/// subscriptions are created through the .NET client (setup, not measured).
/// </summary>
internal sealed class StompGatewayDriver(int stompPort, IBenchmarkDriver setup, bool receiptPerSend) : IBenchmarkDriver
{
    private const int Prefetch = 1000;
    private const int MaxBurst = 1000;

    public string Name => receiptPerSend ? "STOMP/TCP, receipt per SEND" : "STOMP/TCP";

    public string Durability => "RECEIPT once the SEND is durable (file log, fsync before ack)";

    public bool FsyncBeforeAck => true;

    public Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken) =>
        setup.CreateTopicAsync(topic, partitions, subscriptions, cancellationToken);

    public async Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        var producer = new Producer(topic, receiptPerSend);
        producer.Connection = await StompClient.ConnectAsync(stompPort, producer.OnFrame, producer.Fail, cancellationToken);
        return producer;
    }

    public async Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken)
    {
        var consumer = new Consumer(onMessage);
        consumer.Connection = await StompClient.ConnectAsync(stompPort, consumer.OnFrame, consumer.OnFailure, cancellationToken);
        consumer.Connection.Send("SUBSCRIBE",
        [
            ("id", "0"), ("destination", $"/topic/{topic}"), ("durable-subscription-name", subscription), ("ack", "client-individual"),
            ("prefetch-count", Prefetch.ToString(CultureInfo.InvariantCulture)),
        ]);
        return consumer;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Producer : IBenchmarkProducer
    {
        private readonly string _destination;
        private readonly bool _receiptPerSend;
        private readonly Queue<(long Id, TaskCompletionSource Done)> _pending = new();
        private readonly Channel<(ReadOnlyMemory<byte> Body, TaskCompletionSource Done)> _queue = Channel.CreateUnbounded<(ReadOnlyMemory<byte>, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Lock _lock = new();
        private readonly Task _sender;
        private long _nextId;
        private Exception? _failed;

        public Producer(string topic, bool receiptPerSend)
        {
            _destination = $"/topic/{topic}";
            _receiptPerSend = receiptPerSend;
            _sender = Task.Run(SendLoopAsync);
        }

        public StompClient Connection { get; set; } = null!;

        public Task SendAsync(long key, ReadOnlyMemory<byte> payload)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_queue.Writer.TryWrite((payload, done)))
            {
                done.SetException(new ObjectDisposedException(nameof(Producer)));
            }

            return done.Task;
        }

        /// <summary>Writes what is waiting (≤ <see cref="MaxBurst"/>) without waiting for receipts; frames leave in id order, so RECEIPT n confirms ids ≤ n.</summary>
        private async Task SendLoopAsync()
        {
            var burst = new List<(ReadOnlyMemory<byte> Body, TaskCompletionSource Done)>(MaxBurst);
            while (await _queue.Reader.WaitToReadAsync())
            {
                while (burst.Count < MaxBurst && _queue.Reader.TryRead(out var item))
                {
                    burst.Add(item);
                }

                lock (_lock)
                {
                    for (var i = 0; i < burst.Count; i++)
                    {
                        var (body, done) = burst[i];
                        if (_failed is not null)
                        {
                            done.TrySetException(_failed);
                            continue;
                        }

                        var id = ++_nextId;
                        _pending.Enqueue((id, done));
                        if (_receiptPerSend || i == burst.Count - 1)
                        {
                            Connection.Send("SEND", [("destination", _destination), ("receipt", id.ToString(CultureInfo.InvariantCulture))], body.Span);
                        }
                        else
                        {
                            Connection.Send("SEND", [("destination", _destination)], body.Span);
                        }
                    }
                }

                if (!_receiptPerSend && burst.Count > 0)
                {
                    // One burst in flight: the next one gathers while this one is stored.
                    await burst[^1].Done.Task.ContinueWith(static _ => { }, TaskScheduler.Default);
                }

                burst.Clear();
            }
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

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await _sender;
            await Connection.DisposeAsync();
        }
    }

    private sealed class Consumer(Func<ReadOnlyMemory<byte>, bool> onMessage) : IBenchmarkConsumer
    {
        private volatile bool _disposing;

        public StompClient Connection { get; set; } = null!;

        public void OnFailure(Exception error)
        {
            if (!_disposing)
            {
                Console.Error.WriteLine($"stomp consumer: {error.Message}");
            }
        }

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

        public ValueTask DisposeAsync()
        {
            _disposing = true;
            return Connection.DisposeAsync();
        }
    }
}
