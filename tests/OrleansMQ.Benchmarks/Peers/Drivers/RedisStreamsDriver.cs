using StackExchange.Redis;

namespace OrleansMQ.Benchmarks.Peers.Drivers;

/// <summary>
/// Redis Streams through StackExchange.Redis: a partition is a stream (<c>{topic}:{p}</c>), a subscription a consumer
/// group on every partition stream (consumers in a group compete). Producers XADD round robin over the partitions;
/// the reply comes after the AOF write, and with <c>appendfsync always</c> after its fsync. Consumers read with
/// XREADGROUP (BLOCK 100 ms on a connection of their own; with more than <see cref="MaxBlockingConsumers"/> consumers
/// they poll on the shared connection instead, backing off to 64 ms while idle) and XACK. Redis has no nack: a nacked entry stays pending and is taken
/// back with XAUTOCLAIM once idle for 100 ms (checked every 50 ms once a consumer has nacked).
/// </summary>
internal sealed class RedisStreamsDriver : IBenchmarkDriver
{
    /// <summary>Above this many consumers per run each would need its own connection to block on; they poll instead.</summary>
    public const int MaxBlockingConsumers = 16;

    private const int ReadCount = 500;
    private static readonly TimeSpan ClaimIdle = TimeSpan.FromMilliseconds(100);

    private readonly ConnectionMultiplexer _shared;
    private readonly int _port;
    private readonly string _appendFsync;
    private int _consumers;

    private RedisStreamsDriver(ConnectionMultiplexer shared, int port, string appendFsync)
    {
        _shared = shared;
        _port = port;
        _appendFsync = appendFsync;
    }

    public string Name => $"Redis Streams (appendfsync {_appendFsync})";

    public string Durability => _appendFsync == "always"
        ? "AOF, appendfsync always: the AOF is fsync'd before replies to the XADDs of that event-loop round go out"
        : "AOF, appendfsync everysec: fsync once a second in the background; up to ~1 s of acknowledged writes can be lost on a machine crash";

    public bool FsyncBeforeAck => _appendFsync == "always";

    /// <summary>Connects and sets <c>appendfsync</c> (<c>always</c> or <c>everysec</c>) on the server for this run.</summary>
    public static async Task<IBenchmarkDriver> ConnectAsync(int port, string appendFsync, CancellationToken cancellationToken)
    {
        var shared = await ConnectionMultiplexer.ConnectAsync(Options(port));
        await shared.GetDatabase().ExecuteAsync("CONFIG", "SET", "appendfsync", appendFsync);
        return new RedisStreamsDriver(shared, port, appendFsync);
    }

    public async Task CreateTopicAsync(string topic, int partitions, IReadOnlyList<string> subscriptions, CancellationToken cancellationToken)
    {
        var db = _shared.GetDatabase();
        for (var p = 0; p < partitions; p++)
        {
            foreach (var subscription in subscriptions)
            {
                await db.StreamCreateConsumerGroupAsync(StreamKey(topic, p), subscription, StreamPosition.Beginning, createStream: true);
            }
        }
    }

    public Task<IBenchmarkProducer> CreateProducerAsync(string topic, int partitions, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchmarkProducer>(new Producer(_shared.GetDatabase(), [.. Enumerable.Range(0, partitions).Select(p => (RedisKey)StreamKey(topic, p))]));

    public async Task<IBenchmarkConsumer> CreateConsumerAsync(string topic, int partitions, string subscription, Func<ReadOnlyMemory<byte>, bool> onMessage, CancellationToken cancellationToken)
    {
        var index = Interlocked.Increment(ref _consumers);
        var blocking = index <= MaxBlockingConsumers ? await ConnectionMultiplexer.ConnectAsync(Options(_port)) : null;
        var keys = Enumerable.Range(0, partitions).Select(p => StreamKey(topic, p)).ToArray();
        return new Consumer(_shared, blocking, keys, subscription, $"c{index}", onMessage);
    }

    public async ValueTask DisposeAsync() => await _shared.DisposeAsync();

    private static ConfigurationOptions Options(int port) => new()
    {
        EndPoints = { { "127.0.0.1", port } },
        AbortOnConnectFail = false,
        AllowAdmin = true, // CONFIG SET appendfsync
        // RESP2: XREADGROUP's reply is then [[key, [[id, [field, value]], ...]], ...] (RESP3 makes the outer level a map).
        Protocol = RedisProtocol.Resp2,
        AsyncTimeout = 30_000,
        SyncTimeout = 30_000,
        ClientName = "omq-bench",
    };

    private static string StreamKey(string topic, int partition) => $"{topic}:{partition}";

    private sealed class Producer(IDatabase db, RedisKey[] keys) : IBenchmarkProducer
    {
        public Task SendAsync(long key, ReadOnlyMemory<byte> payload) =>
            db.StreamAddAsync(keys[(int)(key % keys.Length)], "d", payload);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Consumer : IBenchmarkConsumer
    {
        private readonly ConnectionMultiplexer _shared;
        private readonly ConnectionMultiplexer? _blocking;
        private readonly string[] _keys;
        private readonly string _group;
        private readonly string _name;
        private readonly Func<ReadOnlyMemory<byte>, bool> _onMessage;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reading;
        private readonly Task _claiming;
        private volatile bool _hasNacked;

        public Consumer(ConnectionMultiplexer shared, ConnectionMultiplexer? blocking, string[] keys, string group, string name, Func<ReadOnlyMemory<byte>, bool> onMessage)
        {
            _shared = shared;
            _blocking = blocking;
            _keys = keys;
            _group = group;
            _name = name;
            _onMessage = onMessage;
            _reading = Task.Run(ReadAsync);
            _claiming = Task.Run(ClaimAsync);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_reading, _claiming);
            if (_blocking is not null)
            {
                await _blocking.DisposeAsync();
            }

            _stop.Dispose();
        }

        private async Task ReadAsync()
        {
            var db = (_blocking ?? _shared).GetDatabase();
            object[] args = [
                "GROUP", _group, _name, "COUNT", ReadCount,
                .. _blocking is null ? Array.Empty<object>() : ["BLOCK", 100],
                "STREAMS", .. _keys, .. _keys.Select(_ => ">")];
            var idlePolls = 0;
            while (!_stop.IsCancellationRequested)
            {
                RedisResult result;
                try
                {
                    result = await db.ExecuteAsync("XREADGROUP", args);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                var delivered = 0;
                if (!result.IsNull)
                {
                    foreach (var stream in (RedisResult[])result!)
                    {
                        var parts = (RedisResult[])stream!;
                        delivered += await HandleAsync((string)parts[0]!, (RedisResult[])parts[1]!);
                    }
                }

                if (_blocking is null)
                {
                    // Polling: back off while idle (1, 2, 4 … 64 ms), back to 1 ms as soon as entries come, so hundreds of
                    // idle consumers (W4) do not flood the server with empty reads.
                    idlePolls = delivered == 0 ? Math.Min(idlePolls + 1, 7) : 0;
                    if (idlePolls > 0)
                    {
                        await Delay(TimeSpan.FromMilliseconds(1 << (idlePolls - 1)));
                    }
                }
            }
        }

        /// <summary>Hands entries ([id, [field, value]]) to the callback and XACKs the accepted ones in one call.</summary>
        private async Task<int> HandleAsync(string key, RedisResult[] entries)
        {
            var ack = new List<RedisValue>(entries.Length);
            foreach (var entry in entries)
            {
                var fields = (RedisResult[])entry!;
                var id = (RedisValue)fields[0];
                var values = (RedisResult[]?)fields[1];
                if (values is not { Length: >= 2 } || _onMessage((byte[])values[1]!))
                {
                    ack.Add(id);
                }
                else
                {
                    _hasNacked = true;
                }
            }

            if (ack.Count > 0)
            {
                _ = _shared.GetDatabase().StreamAcknowledgeAsync(key, _group, [.. ack]);
            }

            return entries.Length;
        }

        /// <summary>Takes back entries pending longer than 100 ms (the nacked ones) and delivers them again.</summary>
        private async Task ClaimAsync()
        {
            var db = _shared.GetDatabase();
            while (!_stop.IsCancellationRequested)
            {
                await Delay(TimeSpan.FromMilliseconds(50));
                if (!_hasNacked)
                {
                    // Nothing can be pending for long unless this consumer nacked: spare the server the XAUTOCLAIMs.
                    continue;
                }

                foreach (var key in _keys)
                {
                    try
                    {
                        var claimed = await db.StreamAutoClaimAsync(key, _group, _name, (long)ClaimIdle.TotalMilliseconds, "0-0", count: ReadCount);
                        var ack = claimed.ClaimedEntries.Where(e => e.Values.Length == 0 || _onMessage((byte[])e.Values[0].Value!)).Select(e => e.Id).ToArray();
                        if (ack.Length > 0)
                        {
                            await db.StreamAcknowledgeAsync(key, _group, ack);
                        }
                    }
                    catch (Exception) when (_stop.IsCancellationRequested)
                    {
                        return;
                    }
                }
            }
        }

        private async Task Delay(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
