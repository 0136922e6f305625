using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using OrleansMQ.Benchmarks.Peers;

namespace OrleansMQ.Benchmarks.Gateway;

/// <summary>
/// OrleansMQ through the gateway's REST API with a plain <see cref="HttpClient"/> (HTTP/1.1, keep-alive), the way a
/// non-.NET service would use it. A producer batches what is waiting (<c>POST /topics/{t}/messages/batch</c>, ≤ 1000
/// messages, <see cref="SendersPerProducer"/> requests in flight; at a low rate each batch holds one message). A consumer
/// long-polls <c>POST …/receive?max=500&amp;wait=1s</c> under a named consumer id and acks each received batch with one
/// <c>POST …/ack</c> (up to <see cref="AcksInFlight"/> acks in flight, not awaited before the next receive).
/// Topics and subscriptions are created through the .NET client (setup, not measured).
/// </summary>
internal sealed class HttpGatewayDriver(int httpPort, IBenchmarkDriver setup) : IBenchmarkDriver
{
    private const int SendersPerProducer = 4;
    private const int MaxBatch = 1000;
    private const int ReceiveMax = 500;
    private const int AcksInFlight = 4;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"),
        Timeout = TimeSpan.FromSeconds(60),
    };

    public string Name => "HTTP REST";

    public string Durability => "gateway answers once durable (file log, fsync before ack)";

    public bool FsyncBeforeAck => true;

    public Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken) =>
        setup.CreateTopicAsync(topic, partitions, subscriptions, cancellationToken);

    public Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkProducer>(new Producer(_http, topic));

    public Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkConsumer>(new Consumer(_http, topic, subscription, onMessage));

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record Item(byte[] Base64);

    private sealed record Batch(IReadOnlyList<Item> Messages);

    private sealed record Received(string ConsumerId, IReadOnlyList<Delivery> Deliveries);

    private sealed record Delivery(string DeliveryId, Body Message);

    private sealed record Body(byte[]? Base64);

    private sealed record Settle(IReadOnlyList<string> Ids);

    private sealed class Producer : IBenchmarkProducer
    {
        private readonly HttpClient _http;
        private readonly string _path;
        private readonly Channel<(ReadOnlyMemory<byte> Body, TaskCompletionSource Done)> _queue = Channel.CreateUnbounded<(ReadOnlyMemory<byte>, TaskCompletionSource)>();
        private readonly Task[] _senders;

        public Producer(HttpClient http, string topic)
        {
            _http = http;
            _path = $"/topics/{topic}/messages/batch";
            _senders = [.. Enumerable.Range(0, SendersPerProducer).Select(_ => Task.Run(SendLoopAsync))];
        }

        public Task SendAsync(long key, ReadOnlyMemory<byte> payload)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_queue.Writer.TryWrite((payload, done)))
            {
                done.SetException(new ObjectDisposedException(nameof(Producer)));
            }

            return done.Task;
        }

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await Task.WhenAll(_senders);
        }

        private async Task SendLoopAsync()
        {
            var batch = new List<(ReadOnlyMemory<byte> Body, TaskCompletionSource Done)>(MaxBatch);
            while (await _queue.Reader.WaitToReadAsync())
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                try
                {
                    using var response = await _http.PostAsJsonAsync(_path, new Batch([.. batch.Select(m => new Item(m.Body.ToArray()))]), Json);
                    response.EnsureSuccessStatusCode();
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetResult();
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetException(ex);
                    }
                }

                batch.Clear();
            }
        }
    }

    private sealed class Consumer : IBenchmarkConsumer
    {
        private readonly HttpClient _http;
        private readonly string _base;
        private readonly string _consumerId = "omqb-" + Guid.NewGuid().ToString("N")[..12];
        private readonly Func<ReadOnlyMemory<byte>, bool> _onMessage;
        private readonly CancellationTokenSource _stop = new();
        private readonly SemaphoreSlim _acks = new(AcksInFlight);
        private readonly Task _loop;

        public Consumer(HttpClient http, string topic, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage)
        {
            _http = http;
            _base = $"/topics/{topic}/subscriptions/{subscription}";
            _onMessage = onMessage;
            _loop = Task.Run(ReceiveLoopAsync);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            for (var i = 0; i < AcksInFlight; i++)
            {
                await _acks.WaitAsync();
            }

            _stop.Dispose();
            _acks.Dispose();
        }

        private async Task ReceiveLoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"{_base}/receive?max={ReceiveMax}&wait=1s&encoding=base64");
                    request.Headers.Add("OMQ-Consumer-Id", _consumerId);
                    using var response = await _http.SendAsync(request, _stop.Token);
                    response.EnsureSuccessStatusCode();
                    var received = await response.Content.ReadFromJsonAsync<Received>(Json, _stop.Token)
                        ?? throw new InvalidDataException("Empty receive response.");
                    if (received.Deliveries.Count == 0)
                    {
                        continue;
                    }

                    var acks = new List<string>(received.Deliveries.Count);
                    var nacks = new List<string>();
                    foreach (var delivery in received.Deliveries)
                    {
                        (_onMessage(delivery.Message.Base64 ?? []) ? acks : nacks).Add(delivery.DeliveryId);
                    }

                    await SettleAsync("ack", acks);
                    await SettleAsync("nack", nacks);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }

        /// <summary>Starts one settle request once fewer than <see cref="AcksInFlight"/> are outstanding; does not wait for it.</summary>
        private async Task SettleAsync(string verb, List<string> ids)
        {
            if (ids.Count == 0)
            {
                return;
            }

            await _acks.WaitAsync(_stop.Token);
            _ = Task.Run(async () =>
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"{_base}/{verb}") { Content = JsonContent.Create(new Settle(ids), options: Json) };
                    request.Headers.Add("OMQ-Consumer-Id", _consumerId);
                    using var response = await _http.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    // An unacked delivery comes back after the ack timeout and shows up as a duplicate/late delivery.
                    await Console.Error.WriteLineAsync($"http {verb} failed: {ex.Message}");
                }
                finally
                {
                    _acks.Release();
                }
            });
        }
    }
}
