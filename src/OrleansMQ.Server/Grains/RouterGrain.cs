using System.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Routing;

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

    public async Task<RoutedBatchReceipt> RouteBatchAsync(IReadOnlyList<RoutedMessage> messages) =>
        RoutedBatchReceipt.Pack(await RouteAsync(messages));

    public async Task<RoutedReceipt[]> RouteAsync(IReadOnlyList<RoutedMessage> messages, int hops = 0)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var exchange = this.GetPrimaryKeyString();
        var table = await GetTableAsync(exchange);
        var results = new RoutedReceipt[messages.Count];
        var deliveries = new List<TopicReceipt>[messages.Count];
        var byTopic = new Dictionary<string, List<(int Index, Message Message)>>(StringComparer.Ordinal);
        var unroutable = new List<int>();
        for (var i = 0; i < messages.Count; i++)
        {
            var (routingKey, message) = messages[i];
            ArgumentNullException.ThrowIfNull(routingKey);
            ArgumentNullException.ThrowIfNull(message);
            var destinations = table.Route(routingKey, message);
            deliveries[i] = new List<TopicReceipt>(destinations.Length);
            if (destinations.Length == 0)
            {
                unroutable.Add(i);
                continue;
            }

            var stamped = Stamp(message, exchange, routingKey);
            foreach (var target in destinations)
            {
                var topic = target.Destination;
                var routed = stamped;
                try
                {
                    if (target.Transforms is { Count: > 0 })
                    {
                        routed = await transforms.ApplyAsync(stamped, target.Transforms);
                    }
                }
                catch (TransformException ex)
                {
                    // A failing binding transform never drops or half-applies: the original goes to the exchange's
                    // dead-letter topic with the step and the reason.
                    topic = await EnsureDeadLetterTopicAsync(exchange);
                    routed = stamped.WithHeader(Headers.DeadLetterReason, ex.Message).WithHeader(Headers.OriginalTopic, target.Destination);
                }

                if (!byTopic.TryGetValue(topic, out var list))
                {
                    byTopic[topic] = list = [];
                }

                list.Add((i, routed));
            }
        }

        var spec = table.Exchange.Spec;
        var errors = new OrleansMQException?[messages.Count];
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
        var validated = new Dictionary<Message, (int MaxBytes, OrleansMQException? Error)>(ReferenceEqualityComparer.Instance);
        foreach (var (topic, items) in byTopic)
        {
            var info = topics[topic] = await GetTopicAsync(topic);
            var maxBytes = info.Spec.MaxMessageBytes;
            foreach (var (index, message) in items)
            {
                if (!validated.TryGetValue(message, out var check) || check.MaxBytes != maxBytes)
                {
                    check = (maxBytes, null);
                    try
                    {
                        MessageLimits.Validate(message, topic, maxBytes);
                    }
                    catch (OrleansMQException ex)
                    {
                        check = (maxBytes, ex);
                    }

                    validated[message] = check;
                }

                if (check.Error is { } error)
                {
                    errors[index] ??= error;
                }
            }
        }

        foreach (var items in byTopic.Values)
        {
            items.RemoveAll(x => errors[x.Index] is not null);
        }

        await Task.WhenAll(byTopic.Where(kv => kv.Value.Count > 0).Select(kv => AppendToTopicAsync(topics[kv.Key], kv.Value, deliveries)));

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
                var forwarded = await GrainFactory.GetGrain<IRouterGrain>(alternateExchange).RouteAsync([.. unroutable.Select(i => messages[i])], hops + 1);
                for (var j = 0; j < unroutable.Count; j++)
                {
                    deliveries[unroutable[j]].AddRange(forwarded[j].Deliveries);
                    if (forwarded[j].Error is { } code)
                    {
                        errors[unroutable[j]] = new OrleansMQException(code, forwarded[j].ErrorMessage ?? code.ToString());
                    }
                }
            }
        }

        var alternates = unroutable.ToHashSet();
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = errors[i] is { } error
                ? new RoutedReceipt { Deliveries = [], Error = error.Code, ErrorMessage = error.Message }
                : new RoutedReceipt { Deliveries = deliveries[i], Alternate = alternates.Contains(i) };
        }

        return results;
    }

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

    private async Task AppendToTopicAsync(TopicInfo info, List<(int Index, Message Message)> items, List<TopicReceipt>[] deliveries)
    {
        var topic = info.Name;
        var partitions = info.Spec.Partitions;
        var sticky = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitions);
        var byId = info.Spec.DeduplicationWindow is not null;
        var byPartition = items.GroupBy(x => (x.Message.Key ?? (byId ? x.Message.MessageId : null)) is { } key ? Partitioner.ForKey(key, partitions) : sticky);
        await Task.WhenAll(byPartition.Select(async group =>
        {
            var batch = group.ToList();
            var receipts = await PartitionGrain(topic, group.Key).AppendAsync(new AppendRequest { Messages = [.. batch.Select(x => x.Message)] });
            for (var j = 0; j < batch.Count; j++)
            {
                deliveries[batch[j].Index].Add(new TopicReceipt(topic, receipts[j]));
            }
        }));
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
