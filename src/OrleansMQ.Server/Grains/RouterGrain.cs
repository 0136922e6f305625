using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Routing;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Server.Grains;

/// <summary>
/// Routes through one exchange (its key). A stateless worker, so every silo routes locally with its own cached copy of
/// the bindings and topic metadata (each valid for <see cref="OrleansMQServerOptions.RoutingCacheTtl"/>), then appends
/// straight to the destination partitions.
/// </summary>
[StatelessWorker]
[GrainType("omq.router")]
internal sealed class RouterGrain(IOptions<OrleansMQServerOptions> options, Transforms.TransformPipeline transforms) : Grain, IRouterGrain
{
    private const int MaxHops = 3;
    private readonly TimeSpan _ttl = options.Value.RoutingCacheTtl;
    private readonly Dictionary<string, (TopicInfo Topic, long LoadedAt)> _topics = new(StringComparer.Ordinal);
    private RoutingTable? _table;
    private long _tableLoadedAt;
    private int _roundRobin;
    // Partition grain references ("topic/partition" key → reference): GetGrain resolves the interface by reflection.
    private readonly Dictionary<string, IPartitionGrain> _partitionGrains = new(StringComparer.Ordinal);
    // Stamped headers of header-less messages by routing key (shared between messages: they are immutable).
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _stampedHeaders = new(StringComparer.Ordinal);

    // An external producer's batch: the answer is packed straight from what the partitions answered.
    public async Task<RoutedBatchReceipt> RouteBatchAsync(IReadOnlyList<RoutedMessage> messages) =>
        (await RouteCoreAsync(messages, hops: 0)).Pack();

    public async Task<RoutedReceipt[]> RouteAsync(IReadOnlyList<RoutedMessage> messages, int hops = 0) =>
        (await RouteCoreAsync(messages, hops)).Receipts();

    /// <summary>Routes a batch: appends every message to its destinations (or refuses it) and tells what happened.</summary>
    private async Task<RouteOutcome> RouteCoreAsync(IReadOnlyList<RoutedMessage> messages, int hops)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var exchange = this.GetPrimaryKeyString();
        var table = await GetTableAsync(exchange);
        var count = messages.Count;
        // Per message: the stamped message shared by every destination without transforms (a fan-out's copies).
        var stamped = new Message?[count];
        var byTopic = new Dictionary<string, List<(int Index, Message Message)>>(StringComparer.Ordinal);
        // Per position in a route, the topic last seen there and its list: an exchange's routes repeat the same binding
        // strings, so most copies find their list without hashing the topic name (ten times per message in a 10-way fan-out).
        var recentTopics = new string?[MaxRecentRoutePositions];
        var recentLists = new List<(int Index, Message Message)>?[MaxRecentRoutePositions];
        var unroutable = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var (routingKey, message) = messages[i];
            ArgumentNullException.ThrowIfNull(routingKey);
            ArgumentNullException.ThrowIfNull(message);
            var destinations = table.Route(routingKey, message);
            if (destinations.Length == 0)
            {
                unroutable.Add(i);
                continue;
            }

            var shared = stamped[i] = Stamp(message, exchange, routingKey);
            for (var k = 0; k < destinations.Length; k++)
            {
                var target = destinations[k];
                var topic = target.Destination;
                var routed = shared;
                try
                {
                    if (target.Transforms is { Count: > 0 })
                    {
                        routed = await transforms.ApplyAsync(shared, target.Transforms);
                    }
                }
                catch (TransformException ex)
                {
                    // A failing binding transform never drops or half-applies: the original goes to the exchange's
                    // dead-letter topic with the step and the reason.
                    topic = await EnsureDeadLetterTopicAsync(exchange);
                    routed = shared.WithHeader(Headers.DeadLetterReason, ex.Message).WithHeader(Headers.OriginalTopic, target.Destination);
                }

                var recent = k < MaxRecentRoutePositions && ReferenceEquals(recentTopics[k], topic);
                var list = recent ? recentLists[k]! : null;
                if (list is null && !byTopic.TryGetValue(topic, out list))
                {
                    // Sized for the whole batch: a fan-out's destinations each take every message.
                    byTopic[topic] = list = new List<(int, Message)>(count - i);
                }

                if (!recent && k < MaxRecentRoutePositions)
                {
                    recentTopics[k] = topic;
                    recentLists[k] = list;
                }

                list.Add((i, routed));
            }
        }

        var spec = table.Exchange.Spec;
        var errors = new OrleansMQException?[count];
        if (unroutable.Count > 0 && spec.AlternateTopic is null && spec.AlternateExchange is null)
        {
            foreach (var i in unroutable)
            {
                errors[i] = new OrleansMQException(ErrorCode.Unroutable,
                    $"Exchange '{exchange}' ({spec.Type}) has no binding for routing key '{messages[i].RoutingKey}' and no alternate; the message was not published.");
            }

            unroutable.Clear();
        }

        if (unroutable.Count > 0 && spec.AlternateTopic is { } alternateTopic)
        {
            if (!byTopic.TryGetValue(alternateTopic, out var list))
            {
                byTopic[alternateTopic] = list = [];
            }

            foreach (var i in unroutable)
            {
                list.Add((i, Stamp(messages[i].Message, exchange, messages[i].RoutingKey)));
            }
        }

        // Check every message against every destination's limits before appending anywhere, so a bad message is
        // refused as a whole (and alone) instead of landing in some destinations only.
        // A fan-out shares one stamped message between its copies: validate it once per distinct size limit.
        var topics = new Dictionary<string, TopicInfo>(StringComparer.Ordinal);
        var sharedLimit = new int[count];
        var sharedError = new OrleansMQException?[count];
        var refused = false;
        foreach (var (topic, items) in byTopic)
        {
            var info = topics[topic] = await GetTopicAsync(topic);
            var maxBytes = info.Spec.MaxMessageBytes;
            foreach (var (index, message) in items)
            {
                OrleansMQException? error;
                if (!ReferenceEquals(message, stamped[index]))
                {
                    error = Validate(message, topic, maxBytes);
                }
                else if (sharedLimit[index] == maxBytes)
                {
                    error = sharedError[index];
                }
                else
                {
                    sharedLimit[index] = maxBytes;
                    error = sharedError[index] = Validate(message, topic, maxBytes);
                }

                if (error is not null)
                {
                    errors[index] ??= error;
                    refused = true;
                }
            }
        }

        if (refused)
        {
            foreach (var items in byTopic.Values)
            {
                items.RemoveAll(x => errors[x.Index] is not null);
            }
        }

        var tails = byTopic.Count > 1 ? EncodeSharedCopies(byTopic.Values, stamped) : null;
        var appended = new List<(string Topic, List<(int Index, Message Message)> Items, BatchReceipts Receipts)>();
        await Task.WhenAll(byTopic.Where(kv => kv.Value.Count > 0).Select(kv => AppendToTopicAsync(topics[kv.Key], kv.Value, stamped, tails, appended)));

        RoutedReceipt[]? forwarded = null;
        if (unroutable.Count > 0 && spec.AlternateExchange is { } alternateExchange)
        {
            if (hops >= MaxHops)
            {
                foreach (var i in unroutable)
                {
                    errors[i] = new OrleansMQException(ErrorCode.Unroutable, $"Exchange '{exchange}': gave up after {MaxHops} alternate exchanges (a loop?).");
                }
            }
            else
            {
                forwarded = await GrainFactory.GetGrain<IRouterGrain>(alternateExchange).RouteAsync([.. unroutable.Select(i => messages[i])], hops + 1);
                for (var j = 0; j < unroutable.Count; j++)
                {
                    if (forwarded[j].Error is { } code)
                    {
                        errors[unroutable[j]] = new OrleansMQException(code, forwarded[j].ErrorMessage ?? code.ToString());
                    }
                }
            }
        }

        return new RouteOutcome(count, appended, unroutable, forwarded, errors);
    }

    private static OrleansMQException? Validate(Message message, string topic, int maxBytes)
    {
        try
        {
            MessageLimits.Validate(message, topic, maxBytes);
            return null;
        }
        catch (OrleansMQException ex)
        {
            return ex;
        }
    }

    // Route positions whose last topic RouteCoreAsync remembers (a wider route looks the rest up by name).
    private const int MaxRecentRoutePositions = 16;

    // Shared message encodings are packed into arrays of at most this many bytes (below the large object threshold).
    private const int MaxSharedBytesPerArray = 64 * 1024;

    /// <summary>The dead-letter topic of an exchange (<c>{exchange}.dlq</c>), created on first use.</summary>
    private async Task<string> EnsureDeadLetterTopicAsync(string exchange)
    {
        var dlq = $"{exchange}.dlq";
        if (!_topics.ContainsKey(dlq))
        {
            var grain = GrainFactory.GetGrain<ITopicGrain>(dlq);
            if (await grain.TryGetAsync() is null)
            {
                try
                {
                    await grain.CreateAsync(new TopicSpec { Retention = new RetentionPolicy { MaxAge = TimeSpan.FromDays(14) } });
                }
                catch (OrleansMQException ex) when (ex.Code == ErrorCode.AlreadyExists)
                {
                    // Created concurrently with other settings: use it.
                }
            }
        }

        return dlq;
    }

    private Message Stamp(Message message, string exchange, string routingKey)
    {
        if (message.Headers is null)
        {
            // Messages are immutable, so header-less messages with one routing key can share their stamped headers.
            if (!_stampedHeaders.TryGetValue(routingKey, out var shared))
            {
                if (_stampedHeaders.Count >= 10_000)
                {
                    _stampedHeaders.Clear(); // bounded: many distinct keys just stamp anew
                }

                _stampedHeaders[routingKey] = shared = new Dictionary<string, string>(2, StringComparer.Ordinal)
                {
                    [Headers.Exchange] = exchange,
                    [Headers.RoutingKey] = routingKey,
                };
            }

            return message with { Headers = shared };
        }

        var headers = new Dictionary<string, string>(message.Headers, StringComparer.Ordinal)
        {
            [Headers.Exchange] = exchange,
            [Headers.RoutingKey] = routingKey,
        };
        return message with { Headers = headers };
    }

    /// <summary>
    /// Encodes once, for the log, every stamped message that goes to more than one destination unchanged (a fan-out's
    /// copies), so the partitions of the copies write these bytes instead of encoding the message each. Indexed like
    /// the batch; empty where a message has at most one such copy.
    /// </summary>
    private static SharedTail?[]? EncodeSharedCopies(IEnumerable<List<(int Index, Message Message)>> destinations, Message?[] stamped)
    {
        var copies = new int[stamped.Length];
        foreach (var items in destinations)
        {
            foreach (var (index, message) in items)
            {
                if (ReferenceEquals(message, stamped[index]))
                {
                    copies[index]++;
                }
            }
        }

        // Sizes measured once (UTF-8 byte counts of every string): the total, then each message's slice.
        var sizes = new long[stamped.Length];
        long total = 0;
        for (var i = 0; i < stamped.Length; i++)
        {
            if (copies[i] > 1 && stamped[i] is { } m)
            {
                total += sizes[i] = LogRecordCodec.GetTailSize(m.Key, m.MessageId, m.ContentType, producerId: null, m.Headers, m.Body.Length);
            }
        }

        if (total == 0)
        {
            return null;
        }

        // Packed into arrays below the large object threshold (see MaxSharedBytesPerArray); a larger message gets its own.
        byte[]? buffer = null;
        var tails = new SharedTail?[stamped.Length];
        var position = 0;
        for (var i = 0; i < stamped.Length; i++)
        {
            if (sizes[i] > 0 && stamped[i] is { } m)
            {
                var size = (int)sizes[i];
                if (buffer is null || buffer.Length - position < size)
                {
                    buffer = new byte[Math.Max(size, (int)Math.Min(total, MaxSharedBytesPerArray))];
                    position = 0;
                }

                total -= size;
                LogRecordCodec.EncodeTail(m.Key, m.MessageId, m.ContentType, producerId: null, m.Headers, m.Body.Span, size, buffer.AsSpan(position));
                // Its CRC too, once, for the fan-out store's reference records.
                tails[i] = new SharedTail(buffer.AsMemory(position, size)) { Crc = Crc32C.Compute(buffer.AsSpan(position, size)) };
                position += size;
            }
        }

        return tails;
    }

    private async Task AppendToTopicAsync(
        TopicInfo info,
        List<(int Index, Message Message)> items,
        Message?[] stamped,
        SharedTail?[]? tails,
        List<(string Topic, List<(int Index, Message Message)> Items, BatchReceipts Receipts)> appended)
    {
        var topic = info.Name;
        var partitions = info.Spec.Partitions;
        var sticky = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitions);
        var byId = info.Spec.DeduplicationWindow is not null;
        var batches = partitions == 1
            ? [(Partition: 0, Items: items)]
            : items.GroupBy(x => (x.Message.Key ?? (byId ? x.Message.MessageId : null)) is { } key ? Partitioner.ForKey(key, partitions) : sticky)
                .Select(g => (Partition: g.Key, Items: g.ToList())).ToList();
        await Task.WhenAll(batches.Select(async batch =>
        {
            var batchItems = batch.Items;
            Message[] batchMessages;
            SharedTail?[]? batchTails;
            if (IsWholeBatch(batchItems, stamped))
            {
                // Every message of the batch, unchanged (a fan-out's destination): the batch's own arrays, shared by all
                // such destinations instead of a copy each.
                batchMessages = stamped!;
                batchTails = tails;
            }
            else
            {
                batchMessages = new Message[batchItems.Count];
                batchTails = tails is null ? null : new SharedTail?[batchItems.Count];
                for (var j = 0; j < batchItems.Count; j++)
                {
                    var (index, message) = batchItems[j];
                    batchMessages[j] = message;
                    if (batchTails is not null && ReferenceEquals(message, stamped[index]))
                    {
                        batchTails[j] = tails![index];
                    }
                }
            }

            var request = new AppendRequest
            {
                Messages = batchMessages,
                Hints = new AppendHints
                {
                    // RouteCoreAsync validated every message of this list against this topic's limit.
                    ValidatedMaxBytes = info.Spec.MaxMessageBytes,
                    SharedTails = batchTails,
                },
            };
            var answered = await PartitionGrain(topic, batch.Partition).AppendAsync(request);
            // The hints are empty when the partition was in another silo (they stay behind): then the answer holds the receipts.
            var hints = request.Hints;
            var receipts = hints.Receipts is null && hints.FirstOffset >= 0
                ? new BatchReceipts(batch.Partition, hints.FirstOffset, null)
                : new BatchReceipts(batch.Partition, -1, hints.Receipts ?? answered);
            appended.Add((topic, batchItems, receipts)); // continuations run one at a time on the activation's scheduler
        }));
    }

    private static bool IsWholeBatch(List<(int Index, Message Message)> items, Message?[] stamped)
    {
        if (items.Count != stamped.Length)
        {
            return false;
        }

        for (var j = 0; j < items.Count; j++)
        {
            if (items[j].Index != j || !ReferenceEquals(items[j].Message, stamped[j]))
            {
                return false;
            }
        }

        return true;
    }

    private IPartitionGrain PartitionGrain(string topic, int partition)
    {
        var key = GrainKeys.Partition(topic, partition);
        if (!_partitionGrains.TryGetValue(key, out var grain))
        {
            if (_partitionGrains.Count >= 10_000)
            {
                _partitionGrains.Clear(); // bounded: a router that fans out to very many partitions just resolves again
            }

            _partitionGrains[key] = grain = GrainFactory.GetGrain<IPartitionGrain>(key);
        }

        return grain;
    }

    private async Task<RoutingTable> GetTableAsync(string exchange)
    {
        if (_table is { } table && Stopwatch.GetElapsedTime(_tableLoadedAt) < _ttl)
        {
            return table;
        }

        // Timestamp before the call: the copy is valid for the TTL counted from before the exchange answered.
        var loadedAt = Stopwatch.GetTimestamp();
        var info = await GrainFactory.GetGrain<IExchangeGrain>(exchange).TryGetAsync()
            ?? throw OrleansMQException.NotFound("Exchange", exchange);
        _table = new RoutingTable(info);
        _tableLoadedAt = loadedAt;
        return _table;
    }

    private async Task<TopicInfo> GetTopicAsync(string topic)
    {
        if (_topics.TryGetValue(topic, out var cached) && Stopwatch.GetElapsedTime(cached.LoadedAt) < _ttl)
        {
            return cached.Topic;
        }

        var loadedAt = Stopwatch.GetTimestamp();
        var info = await GrainFactory.GetGrain<ITopicGrain>(topic).TryGetAsync()
            ?? throw new OrleansMQException(ErrorCode.NotFound, $"Exchange '{this.GetPrimaryKeyString()}' routes to '{topic}', which does not exist.");
        _topics[topic] = (info, loadedAt);
        return info;
    }
}
