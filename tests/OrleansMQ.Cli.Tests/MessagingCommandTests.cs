using System.Text.Json;
using OrleansMQ.Testing;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Cli.Tests;

/// <summary>omq publish, consume, queue, dlq, exchange and bind against a real silo-host process.</summary>
[Collection(BrokerCollection.Name)]
public sealed class MessagingCommandTests(SiloHostFixture broker, ITestOutputHelper log)
{
    private readonly Omq _omq = new(broker.Silo.GatewayPort, log, broker.Silo.Describe);

    [Fact]
    public async Task Published_messages_are_consumed_as_json_lines_with_key_headers_and_binary_bodies()
    {
        var topic = TestNames.Unique("pubsub");
        (await _omq.RunAsync("topic", "create", topic, "--partitions", "2")).Succeeded();
        (await _omq.RunAsync("sub", "create", topic, "reader", "--start", "earliest")).Succeeded();

        using var dir = new TempDirectory("omq-cli");
        byte[] binary = [0xff, 0xfe, 0x00, 0x80, 0x0a, 0x41];
        await File.WriteAllBytesAsync(dir.File("body.bin"), binary);

        // Three publishers at once: from arguments (one key), from stdin (a line each) and a binary file (whole).
        var (fromArguments, fromStdin, fromFile) = await Omq.AllAsync(
            _omq.RunAsync("publish", topic, "-k", "customer-42", "-H", "trace=abc", "-H", "expr=a=b", "first", "second", "-o", "json"),
            _omq.RunWithInputAsync("third\n\nfourth\n", "publish", topic, "-o", "json"),
            _omq.RunAsync("publish", topic, "--file", dir.File("body.bin"), "--whole", "--content-type", "application/octet-stream"));
        var keyed = fromArguments.Succeeded().JsonLines();
        Assert.Equal(2, keyed.Count);
        Assert.Equal(keyed[0].Int("partition"), keyed[1].Int("partition"));
        Assert.True(keyed[0].Long("offset") < keyed[1].Long("offset"), $"one key keeps its order: {fromArguments.Description}");
        Assert.Equal(2, fromStdin.Succeeded().JsonLines().Count);
        fromFile.Succeeded();

        var consumed = (await _omq.RunAsync("consume", topic, "reader", "-n", "5", "--timeout", "20s", "-o", "json")).Succeeded().JsonLines();

        Assert.Equal(5, consumed.Count);
        var texts = consumed.Where(m => m.Str("bodyEncoding") == "utf8").ToList();
        Assert.Equal(["first", "fourth", "second", "third"], texts.Select(m => m.Str("body")).Order(StringComparer.Ordinal));
        var sameKey = texts.Where(m => m.Str("body") is "first" or "second").OrderBy(m => m.Long("offset")).ToList();
        Assert.Equal(["first", "second"], sameKey.Select(m => m.Str("body")));
        foreach (var (receipt, message) in keyed.Zip(sameKey))
        {
            Assert.Equal(receipt.Int("partition"), message.Int("partition"));
            Assert.Equal(receipt.Long("offset"), message.Long("offset"));
            Assert.Equal("customer-42", message.Str("key"));
            Assert.Equal("abc", message.Header("trace"));
            Assert.Equal("a=b", message.Header("expr"));
            Assert.Equal(1, message.Int("deliveryCount"));
        }

        var raw = Assert.Single(consumed, m => m.Str("bodyEncoding") == "base64");
        Assert.Equal(Convert.ToBase64String(binary), raw.Str("body"));
        Assert.Equal("application/octet-stream", raw.Str("contentType"));

        var stats = (await _omq.RunAsync("sub", "describe", topic, "reader", "-o", "json")).Succeeded().Json();
        Assert.Equal(0, stats.Long("backlog"));
    }

    [Fact]
    public async Task Consume_count_leases_no_more_than_it_prints_so_the_other_messages_keep_their_delivery_attempts()
    {
        const int partitions = 4;
        var topic = TestNames.Unique("take");
        (await _omq.RunAsync("topic", "create", topic, "--partitions", $"{partitions}")).Succeeded();
        // One delivery each: a message leased and not settled by an exiting consume would be dead-lettered at once.
        (await _omq.RunAsync("sub", "create", topic, "workers", "--type", "shared", "--start", "earliest", "--max-deliveries", "1")).Succeeded();

        // One message per partition (keys chosen with the broker's partitioner), so credit on every partition could lease them all.
        var keys = Enumerable.Range(0, partitions)
            .Select(p => Enumerable.Range(0, 10_000).Select(i => $"k{i}").First(k => Partitioner.ForKey(k, partitions) == p)).ToList();
        var (p0, p1, p2, p3) = await Omq.AllAsync(
            _omq.RunAsync("publish", topic, "-k", keys[0], "m0"), _omq.RunAsync("publish", topic, "-k", keys[1], "m1"),
            _omq.RunAsync("publish", topic, "-k", keys[2], "m2"), _omq.RunAsync("publish", topic, "-k", keys[3], "m3"));
        foreach (var published in new[] { p0, p1, p2, p3 })
        {
            published.Succeeded();
        }

        var bodies = new List<string>();
        for (var i = 0; i < partitions; i++)
        {
            var taken = Assert.Single((await _omq.RunAsync("consume", topic, "workers", "-n", "1", "--timeout", "20s", "-o", "json")).Succeeded().JsonLines());
            Assert.Equal(1, taken.Int("deliveryCount"));
            bodies.Add(taken.Str("body")!);
        }

        Assert.Equal(["m0", "m1", "m2", "m3"], bodies.Order(StringComparer.Ordinal));
        var stats = (await _omq.RunAsync("sub", "describe", topic, "workers", "-o", "json")).Succeeded().Json();
        Assert.Equal(0, stats.Long("deadLettered"));
        Assert.Equal(0, stats.Long("backlog"));
    }

    [Fact]
    public async Task A_delayed_publish_waits_while_later_ones_are_delivered_and_describe_shows_it_held()
    {
        var topic = TestNames.Unique("later");
        (await _omq.RunAsync("topic", "create", topic, "--partitions", "1")).Succeeded();
        (await _omq.RunAsync("sub", "create", topic, "workers", "--type", "shared", "--start", "earliest")).Succeeded();

        (await _omq.RunAsync("publish", topic, "--delay", "1h", "tomorrow-ish")).Succeeded();
        (await _omq.RunAsync("publish", topic, "now")).Succeeded();

        // The delayed message is not handed out; the one published after it is.
        var taken = Assert.Single((await _omq.RunAsync("consume", topic, "workers", "-n", "1", "--timeout", "20s", "-o", "json")).Succeeded().JsonLines());
        Assert.Equal("now", taken.Str("body"));

        var described = (await _omq.RunAsync("sub", "describe", topic, "workers", "-o", "json")).Succeeded().Json();
        var partition = Assert.Single(described.Items("partitions"));
        Assert.Equal(1, partition.Int("scheduledInMemory"));
        Assert.Equal(1, described.Long("backlog"));

        var table = string.Join('\n', (await _omq.RunAsync("sub", "describe", topic, "workers")).Succeeded().Stdout);
        Assert.Contains("Delayed in memory", table, StringComparison.Ordinal);

        (await _omq.RunAsync("publish", topic, "--delay", "soon", "x")).Failed(2, "soon");
    }

    [Fact]
    public async Task Nacked_queue_message_is_dead_lettered_listed_and_redriven()
    {
        var queue = TestNames.Unique("jobs");
        var created = (await _omq.RunAsync("queue", "create", queue, "--max-deliveries", "2", "--nack-backoff", "0s", "-o", "json")).Succeeded().Json();
        Assert.Equal($"{queue}.queue.dlq", created.Str("deadLetterTopic"));
        var receipt = Assert.Single((await _omq.RunAsync("publish", queue, "-H", "kind=poison", "resize 17", "-o", "json")).Succeeded().JsonLines());

        var nacked = (await _omq.RunAsync("consume", queue, "--ack", "nack", "-n", "2", "--timeout", "20s", "-o", "json")).Succeeded().JsonLines();
        Assert.Equal([1, 2], nacked.Select(m => m.Int("deliveryCount")));

        // Dead-lettering follows the second nack; poll the listing (bounded) rather than assume when it lands.
        JsonElement listing = default, described = default;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var (list, describe) = await Omq.AllAsync(_omq.RunAsync("dlq", "list", queue, "-o", "json"), _omq.RunAsync("queue", "describe", queue, "-o", "json"));
            (listing, described) = (list.Succeeded().Json(), describe.Succeeded().Json());
            if (listing.Items("messages").Count > 0 && described.Long("deadLetterMessages") > 0)
            {
                break;
            }

            await Task.Delay(250);
        }

        var dead = Assert.Single(listing.Items("messages"));
        Assert.Contains("nack", dead.Str("reason"), StringComparison.Ordinal);
        Assert.Equal(queue, dead.Str("originalTopic"));
        Assert.Equal(receipt.Long("offset"), dead.Long("originalOffset"));
        Assert.Equal(2, dead.Int("deliveryCount"));
        Assert.Equal("resize 17", dead.GetProperty("message").Str("body"));
        Assert.Equal("poison", dead.GetProperty("message").Header("kind"));

        Assert.Equal(1, described.Long("deadLettered"));
        Assert.Equal(1, described.Long("deadLetterMessages"));
        Assert.Equal(0, described.Long("backlog"));

        Assert.Equal(1, (await _omq.RunAsync("dlq", "redrive", queue, "-o", "json")).Succeeded().Json().Int("redriven"));

        var redriven = Assert.Single((await _omq.RunAsync("consume", queue, "-n", "1", "--timeout", "20s", "-o", "json")).Succeeded().JsonLines());
        Assert.Equal("resize 17", redriven.Str("body"));
        Assert.Equal("true", redriven.Header("omq-redriven"));
        Assert.Equal("poison", redriven.Header("kind"));
        Assert.Null(redriven.Header("omq-dlq-reason"));
    }

    [Fact]
    public async Task Exchange_routes_a_published_message_by_its_routing_key()
    {
        var exchange = TestNames.Unique("ex");
        var destination = TestNames.Unique("eu-orders");
        async Task CreateDestinationAsync()
        {
            await RunOkAsync("topic", "create", destination);
            await RunOkAsync("sub", "create", destination, "audit", "--start", "earliest");
        }

        await Task.WhenAll(RunOkAsync("exchange", "create", exchange, "--type", "direct"), CreateDestinationAsync());

        const string filter = "headers.tier == 'gold'";
        var bound = (await _omq.RunAsync("bind", exchange, destination, "--key", "eu", "--filter", filter, "-o", "json")).Succeeded().Json();
        var binding = Assert.Single(bound.Items("bindings"));
        Assert.Equal((destination, "eu", filter), (binding.Str("destination"), binding.Str("key"), binding.Str("filter")));

        var (eu, us, silver) = await Omq.AllAsync(
            _omq.RunAsync("publish", "--exchange", exchange, "--routing-key", "eu", "-H", "tier=gold", "hello eu", "-o", "json"),
            _omq.RunAsync("publish", "--exchange", exchange, "--routing-key", "us", "-H", "tier=gold", "hello us"),
            _omq.RunAsync("publish", "--exchange", exchange, "--routing-key", "eu", "-H", "tier=silver", "hello silver"));
        var delivery = Assert.Single(Assert.Single(eu.Succeeded().JsonLines()).Items("deliveries"));
        Assert.Equal(destination, delivery.Str("topic"));
        us.Failed(5, "Unroutable");
        silver.Failed(5, "Unroutable");

        var message = Assert.Single((await _omq.RunAsync("consume", destination, "audit", "-n", "1", "-o", "json")).Succeeded().JsonLines());
        Assert.Equal("hello eu", message.Str("body"));
        Assert.Equal(delivery.Long("offset"), message.Long("offset"));
        Assert.Equal(exchange, message.Header("omq-exchange"));
        Assert.Equal("eu", message.Header("omq-routing-key"));

        // A binding is removed by what it was made with, filter included.
        (await _omq.RunAsync("unbind", exchange, destination, "--key", "eu")).Failed(3, "NotFound");
        Assert.Empty((await _omq.RunAsync("unbind", exchange, destination, "--key", "eu", "--filter", filter, "-o", "json")).Succeeded().Json().Items("bindings"));
        (await _omq.RunAsync("exchange", "delete", exchange)).Succeeded();
        (await _omq.RunAsync("exchange", "describe", exchange)).Failed(3, "NotFound");
    }

    [Fact]
    public async Task Exchange_list_shows_created_exchanges_and_forgets_deleted_ones()
    {
        var direct = TestNames.Unique("list-direct");
        var fanout = TestNames.Unique("list-fanout");
        var destination = TestNames.Unique("list-dest");
        await Task.WhenAll(
            RunOkAsync("exchange", "create", direct, "--type", "direct", "--alternate-topic", destination),
            RunOkAsync("exchange", "create", fanout, "--type", "fanout"),
            RunOkAsync("topic", "create", destination));
        await RunOkAsync("bind", fanout, destination);

        var listed = (await _omq.RunAsync("exchange", "list", "-o", "json")).Succeeded().Json().Items();
        var mine = listed.Where(x => x.Str("name") == direct || x.Str("name") == fanout).ToDictionary(x => x.Str("name"));
        Assert.Equal(2, mine.Count);
        Assert.Equal(("direct", 0, destination), (mine[direct].Str("type"), mine[direct].Int("bindings"), mine[direct].Str("alternateTopic")));
        Assert.Equal(("fanout", 1), (mine[fanout].Str("type"), mine[fanout].Int("bindings")));
        var names = listed.Select(x => x.Str("name")).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        var table = (await _omq.RunAsync("exchange", "list")).Succeeded();
        Assert.Contains(table.Stdout, line => line.Contains("fanout", StringComparison.Ordinal));

        await RunOkAsync("exchange", "delete", direct);
        var after = (await _omq.RunAsync("exchange", "ls", "-o", "json")).Succeeded().Json().Items().Select(x => x.Str("name")).ToList();
        Assert.DoesNotContain(direct, after);
        Assert.Contains(fanout, after);
    }

    private async Task RunOkAsync(params string[] arguments) => (await _omq.RunAsync(arguments)).Succeeded();
}
