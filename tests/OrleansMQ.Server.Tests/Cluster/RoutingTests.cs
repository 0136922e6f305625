using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class RoutingTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    private IOrleansMQAdmin Admin => Broker.Client.Admin;

    private async Task<string[]> QueuesAsync(string prefix, int count)
    {
        var names = Enumerable.Range(0, count).Select(_ => TestNames.Unique(prefix)).ToArray();
        foreach (var name in names)
        {
            await Admin.CreateQueueAsync(name);
        }

        return names;
    }

    private async Task<long> CountAsync(string topic) => (await Admin.GetPartitionsAsync(topic)).Sum(p => p.HighWatermark);

    [Fact]
    public async Task Direct_exchange_routes_by_exact_routing_key()
    {
        var exchange = TestNames.Unique("direct");
        var (eu, us) = await QueuesAsync("region", 2) is [var a, var b] ? (a, b) : default;
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Direct });
        await Admin.BindAsync(exchange, new Binding { Destination = eu, Key = "eu" });
        await Admin.BindAsync(exchange, new Binding { Destination = us, Key = "us" });

        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        var receipt = await producer.PublishAsync("eu", Message.FromText("order 1"));
        Assert.Equal([eu], receipt.Deliveries.Select(d => d.Topic));
        await producer.PublishAsync("us", Message.FromText("order 2"));
        var none = await Assert.ThrowsAsync<OrleansMQException>(async () => await producer.PublishAsync("asia", Message.FromText("order 3")));
        Assert.Equal(ErrorCode.Unroutable, none.Code);
        Assert.Contains("asia", none.Message);

        Assert.Equal(1, await CountAsync(eu));
        Assert.Equal(1, await CountAsync(us));
        await using var consumer = Broker.Client.CreateQueueConsumer(eu);
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var d = (await Eventually.TakeAsync(e, 1, ack: true))[0];
        Assert.Equal("order 1", d.BodyAsString());
        Assert.Equal("eu", d.Message.Headers[Headers.RoutingKey]);
        Assert.Equal(exchange, d.Message.Headers[Headers.Exchange]);
    }

    [Fact]
    public async Task Topic_exchange_routes_by_pattern_once_per_destination()
    {
        var exchange = TestNames.Unique("topic");
        var (created, all) = await QueuesAsync("orders", 2) is [var a, var b] ? (a, b) : default;
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Topic });
        await Admin.BindAsync(exchange, new Binding { Destination = created, Key = "orders.*.created" });
        await Admin.BindAsync(exchange, new Binding { Destination = all, Key = "orders.#" });
        await Admin.BindAsync(exchange, new Binding { Destination = all, Key = "#.created" }); // overlaps: still one copy

        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        var both = await producer.PublishAsync("orders.eu.created", Message.FromText("1"));
        Assert.Equal([created, all], both.Deliveries.Select(d => d.Topic).Order().ToArray() is var t && t.Contains(created) ? [created, all] : t);
        Assert.Equal(2, both.Deliveries.Count);
        var one = await producer.PublishAsync("orders.eu.paid", Message.FromText("2"));
        Assert.Equal([all], one.Deliveries.Select(d => d.Topic));
        await Assert.ThrowsAsync<OrleansMQException>(async () => await producer.PublishAsync("payments.eu", Message.FromText("3")));

        Assert.Equal(1, await CountAsync(created));
        Assert.Equal(2, await CountAsync(all));
    }

    [Fact]
    public async Task Fanout_and_headers_exchanges_route_to_every_match()
    {
        var queues = await QueuesAsync("fan", 3);
        var fanout = TestNames.Unique("fanout");
        await Admin.CreateExchangeAsync(fanout, new ExchangeSpec { Type = ExchangeType.Fanout });
        foreach (var q in queues)
        {
            await Admin.BindAsync(fanout, new Binding { Destination = q });
        }

        await using (var producer = Broker.Client.CreateExchangeProducer(fanout))
        {
            var r = await producer.PublishAsync("ignored", Message.FromText("to all"));
            Assert.Equal(3, r.Deliveries.Count);
        }

        foreach (var q in queues)
        {
            Assert.Equal(1, await CountAsync(q));
        }

        var headers = TestNames.Unique("headers");
        await Admin.CreateExchangeAsync(headers, new ExchangeSpec { Type = ExchangeType.Headers, AlternateTopic = queues[2] });
        await Admin.BindAsync(headers, new Binding { Destination = queues[0], Headers = new Dictionary<string, string> { ["region"] = "eu", ["vip"] = "yes" } });
        await Admin.BindAsync(headers, new Binding { Destination = queues[1], Headers = new Dictionary<string, string> { ["region"] = "eu", ["vip"] = "yes" }, Match = HeadersMatch.Any });
        await using (var producer = Broker.Client.CreateExchangeProducer(headers))
        {
            Message With(params (string K, string V)[] h) => Message.FromText("h") with { Headers = h.ToDictionary(x => x.K, x => x.V) };
            Assert.Equal(2, (await producer.PublishAsync("", With(("region", "eu"), ("vip", "yes")))).Deliveries.Count);
            Assert.Equal([queues[1]], (await producer.PublishAsync("", With(("region", "eu")))).Deliveries.Select(d => d.Topic));
            var alternate = await producer.PublishAsync("", With(("region", "us")));
            Assert.True(alternate.Alternate);
            Assert.Equal([queues[2]], alternate.Deliveries.Select(d => d.Topic));
        }

        Assert.Equal(2, await CountAsync(queues[0]));
        Assert.Equal(3, await CountAsync(queues[1]));
        Assert.Equal(2, await CountAsync(queues[2]));
    }

    [Fact]
    public async Task Binding_changes_take_effect_for_the_next_publish_on_every_silo()
    {
        var (before, after) = await QueuesAsync("rebind", 2) is [var a, var b] ? (a, b) : default;
        var exchange = TestNames.Unique("rebind");
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Direct });
        await Admin.BindAsync(exchange, new Binding { Destination = before, Key = "k" });

        // One producer per silo: each routes through its own silo's router activation and cache.
        var silos = Broker.Cluster.Silos.ToList();
        Assert.True(silos.Count >= 2);
        var producers = silos.Select(s => Broker.Cluster.GetSiloServiceProvider(s.SiloAddress).GetRequiredService<IOrleansMQClient>().CreateExchangeProducer(exchange)).ToList();
        foreach (var p in producers)
        {
            Assert.Equal([before], (await p.PublishAsync("k", Message.FromText("warm the cache"))).Deliveries.Select(d => d.Topic));
        }

        await Admin.UnbindAsync(exchange, new Binding { Destination = before, Key = "k" });
        await Admin.BindAsync(exchange, new Binding { Destination = after, Key = "k" });
        foreach (var p in producers)
        {
            Assert.Equal([after], (await p.PublishAsync("k", Message.FromText("after the change"))).Deliveries.Select(d => d.Topic));
        }

        Assert.Equal(silos.Count, await CountAsync(before));
        Assert.Equal(silos.Count, await CountAsync(after));
        var info = await Admin.GetExchangeAsync(exchange);
        Assert.Equal([after], info.Bindings.Select(b => b.Destination));
        foreach (var p in producers)
        {
            await p.DisposeAsync();
        }
    }

    [Fact]
    public async Task Bad_routing_input_gets_typed_errors_and_good_messages_in_the_same_batch_still_go_through()
    {
        var exchange = TestNames.Unique("bad");
        var queue = (await QueuesAsync("ok", 1))[0];
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Direct });
        var missing = await Assert.ThrowsAsync<OrleansMQException>(() => Admin.BindAsync(exchange, new Binding { Destination = "no-such-queue", Key = "k" }));
        Assert.Equal(ErrorCode.NotFound, missing.Code);
        await Admin.BindAsync(exchange, new Binding { Destination = queue, Key = "k" });
        var noExchange = await Assert.ThrowsAsync<OrleansMQException>(() => Admin.BindAsync(TestNames.Unique("nope"), new Binding { Destination = queue }));
        Assert.Equal(ErrorCode.NotFound, noExchange.Code);

        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        var good = Enumerable.Range(0, 20).Select(i => producer.PublishAsync("k", Message.FromText($"m{i}")).AsTask()).ToList();
        var bad = producer.PublishAsync("unbound", Message.FromText("lost?")).AsTask();
        var big = producer.PublishAsync("k", new Message(new byte[MessageLimits.DefaultMaxMessageBytes + 1])).AsTask();
        await Task.WhenAll(good);
        Assert.Equal(ErrorCode.Unroutable, (await Assert.ThrowsAsync<OrleansMQException>(() => bad)).Code);
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<OrleansMQException>(() => big)).Code);
        Assert.Equal(20, await CountAsync(queue));
    }

    [Fact]
    public async Task Unroutable_messages_go_through_the_alternate_exchange_and_their_receipts_say_where_each_copy_landed()
    {
        var (routed, spareA, spareB) = await QueuesAsync("alt", 3) is [var a, var b, var c] ? (a, b, c) : default;
        var alternate = TestNames.Unique("alt-fanout");
        await Admin.CreateExchangeAsync(alternate, new ExchangeSpec { Type = ExchangeType.Fanout });
        await Admin.BindAsync(alternate, new Binding { Destination = spareA });
        await Admin.BindAsync(alternate, new Binding { Destination = spareB });
        var exchange = TestNames.Unique("with-alt");
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Direct, AlternateExchange = alternate });
        await Admin.BindAsync(exchange, new Binding { Destination = routed, Key = "k" });

        // Routed and unroutable messages mixed in the producer's batches.
        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        var keys = Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? $"other-{i}" : "k").ToArray();
        var receipts = await Task.WhenAll(keys.Select((key, i) => producer.PublishAsync(key, Message.FromText($"m{i}")).AsTask()));

        for (var i = 0; i < keys.Length; i++)
        {
            var receipt = receipts[i];
            Assert.Null(receipt.Error);
            Assert.Equal(keys[i] != "k", receipt.Alternate);
            Assert.Equal(keys[i] == "k" ? [routed] : new[] { spareA, spareB }.Order(StringComparer.Ordinal), receipt.Deliveries.Select(d => d.Topic).Order(StringComparer.Ordinal));
            foreach (var delivery in receipt.Deliveries)
            {
                // Each delivery names the offset where that copy is stored.
                var partition = Broker.Grains.GetGrain<OrleansMQ.Grains.IPartitionGrain>(GrainKeys.Partition(delivery.Topic, delivery.Receipt.Partition));
                var stored = Assert.Single((await partition.ReadAsync(delivery.Receipt.Offset, 1, 1 << 20)).Messages);
                Assert.Equal(delivery.Receipt.Offset, stored.Offset);
                Assert.Equal($"m{i}", stored.BodyAsString());
            }
        }

        var unroutable = keys.Count(k => k != "k");
        Assert.Equal(keys.Length - unroutable, await CountAsync(routed));
        Assert.Equal(unroutable, await CountAsync(spareA));
        Assert.Equal(unroutable, await CountAsync(spareB));

        // Alternates that lead back round give up after 3 hops with a typed error; nothing is stored.
        var loopA = TestNames.Unique("loop-a");
        var loopB = TestNames.Unique("loop-b");
        await Admin.CreateExchangeAsync(loopA, new ExchangeSpec { Type = ExchangeType.Direct, AlternateExchange = loopB });
        await Admin.CreateExchangeAsync(loopB, new ExchangeSpec { Type = ExchangeType.Direct, AlternateExchange = loopA });
        await using var looping = Broker.Client.CreateExchangeProducer(loopA);
        var loop = await Assert.ThrowsAsync<OrleansMQException>(async () => await looping.PublishAsync("k", Message.FromText("round and round")));
        Assert.Equal(ErrorCode.Unroutable, loop.Code);
        Assert.Contains("alternate exchanges", loop.Message);
    }

    [Fact]
    public async Task A_fan_out_to_a_deduplicating_topic_acknowledges_repeated_ids_with_the_first_copys_offset_there_only()
    {
        var plain = (await QueuesAsync("dedup-plain", 1))[0];
        var dedup = TestNames.Unique("dedup-topic");
        await Admin.CreateTopicAsync(dedup, new TopicSpec { Partitions = 1, DeduplicationWindow = TimeSpan.FromMinutes(5) });
        var exchange = TestNames.Unique("dedup-fanout");
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Fanout });
        await Admin.BindAsync(exchange, new Binding { Destination = plain });
        await Admin.BindAsync(exchange, new Binding { Destination = dedup });

        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        Message WithId(string id) => Message.FromText(id) with { MessageId = id };
        var first = await producer.PublishAsync("", WithId("a"));
        // Published together: a new id, the id from before, and one id twice.
        var receipts = await Task.WhenAll(new[] { "b", "a", "c", "c" }.Select(id => producer.PublishAsync("", WithId(id)).AsTask()));

        PublishReceipt In(RoutedReceipt r, string topic) => Assert.Single(r.Deliveries, d => d.Topic == topic).Receipt;
        Assert.False(In(first, dedup).Duplicate);
        var again = In(receipts[1], dedup);
        Assert.True(again.Duplicate);
        Assert.Equal(In(first, dedup).Offset, again.Offset);
        Assert.False(In(receipts[2], dedup).Duplicate);
        Assert.True(In(receipts[3], dedup).Duplicate);
        Assert.Equal(In(receipts[2], dedup).Offset, In(receipts[3], dedup).Offset);
        Assert.All(receipts.Append(first), r => Assert.False(In(r, plain).Duplicate)); // the plain queue keeps every copy
        Assert.Equal(5, receipts.Append(first).Select(r => In(r, plain).Offset).Distinct().Count());
        Assert.Equal(5, await CountAsync(plain));
        Assert.Equal(3, await CountAsync(dedup));
    }

    [Fact]
    public async Task Content_filters_on_bindings_route_by_headers_and_json_body()
    {
        var (big, eu) = await QueuesAsync("filtered", 2) is [var a, var b] ? (a, b) : default;
        var exchange = TestNames.Unique("orders");
        await Admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Topic });
        await Admin.BindAsync(exchange, new Binding { Destination = big, Key = "orders.#", Filter = "body.amount > 100" });
        await Admin.BindAsync(exchange, new Binding { Destination = eu, Key = "orders.#", Filter = "headers.region == 'eu'" });
        var bad = await Assert.ThrowsAsync<OrleansMQException>(() => Admin.BindAsync(exchange, new Binding { Destination = eu, Key = "#", Filter = "body.amount >" }));
        Assert.Equal(ErrorCode.InvalidArgument, bad.Code);

        await using var producer = Broker.Client.CreateExchangeProducer(exchange);
        Message Order(int amount, string region) => new Message(System.Text.Encoding.UTF8.GetBytes($$"""{"amount": {{amount}}}""")) { Headers = new Dictionary<string, string> { ["region"] = region } };
        Assert.Equal(2, (await producer.PublishAsync("orders.created", Order(500, "eu"))).Deliveries.Count);
        Assert.Equal([big], (await producer.PublishAsync("orders.created", Order(500, "us"))).Deliveries.Select(d => d.Topic));
        Assert.Equal([eu], (await producer.PublishAsync("orders.created", Order(5, "eu"))).Deliveries.Select(d => d.Topic));
        var none = await Assert.ThrowsAsync<OrleansMQException>(async () => await producer.PublishAsync("orders.created", Order(5, "us")));
        Assert.Equal(ErrorCode.Unroutable, none.Code);
        Assert.Equal(2, await CountAsync(big));
        Assert.Equal(2, await CountAsync(eu));
    }
}
