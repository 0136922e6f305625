using OrleansMQ.Testing;

namespace OrleansMQ.Cli.Tests;

/// <summary>omq topic, sub, tail and cluster commands against a real silo-host process.</summary>
[Collection(BrokerCollection.Name)]
public sealed class TopicCommandTests(SiloHostFixture broker, ITestOutputHelper log)
{
    private readonly Omq _omq = new(broker.Silo.GatewayPort, log, broker.Silo.Describe);

    [Fact]
    public async Task Topic_create_list_describe_delete_round_trip_in_json()
    {
        var topic = TestNames.Unique("rt");
        string[] definition = ["--partitions", "3", "--retention-age", "2d", "--retention-bytes", "1MiB", "--max-message-bytes", "64KiB"];

        var created = (await _omq.RunAsync(["topic", "create", topic, .. definition, "-o", "json"])).Succeeded().Json();
        Assert.Equal(topic, created.Str("name"));
        Assert.Equal("topic", created.Str("kind"));
        var spec = created.GetProperty("spec");
        Assert.Equal(3, spec.Int("partitions"));
        Assert.Equal("2d", spec.Str("retentionAge"));
        Assert.Equal(1L << 20, spec.Long("retentionBytes"));
        Assert.Equal(64 * 1024, spec.Int("maxMessageBytes"));

        // Read-only and idempotent commands are independent: run them side by side.
        var (same, different, listed, described) = await Omq.AllAsync(
            _omq.RunAsync(["topic", "create", topic, .. definition]),
            _omq.RunAsync("topic", "create", topic, "--partitions", "2"),
            _omq.RunAsync("topic", "list", "-o", "json"),
            _omq.RunAsync("topic", "describe", topic, "-o", "json"));

        // Creating it again the same way is a no-op; differently, a conflict.
        same.Succeeded();
        different.Failed(5, "AlreadyExists");

        var entry = Assert.Single(listed.Succeeded().Json().Items(), t => t.Str("name") == topic);
        Assert.Equal(3, entry.Int("partitions"));

        var partitions = described.Succeeded().Json().Items("partitions");
        Assert.Equal([0, 1, 2], partitions.Select(p => p.Int("partition")));
        Assert.All(partitions, p => Assert.Equal(0, p.Long("highWatermark")));
        Assert.Empty(described.Json().Items("subscriptions"));

        var deleted = (await _omq.RunAsync("topic", "delete", topic, "-o", "json")).Succeeded().Json();
        Assert.Equal(topic, deleted.Str("name"));
        var (gone, relisted) = await Omq.AllAsync(_omq.RunAsync("topic", "describe", topic), _omq.RunAsync("topic", "list", "-o", "json"));
        gone.Failed(3, "NotFound");
        Assert.DoesNotContain(relisted.Succeeded().Json().Items(), t => t.Str("name") == topic);
    }

    [Fact]
    public async Task Sub_seek_replays_the_topic_from_an_offset()
    {
        var topic = TestNames.Unique("seek");
        (await _omq.RunAsync("topic", "create", topic)).Succeeded();
        // The subscription starts at the earliest offset, so it may be created while the messages are published.
        var (created, published) = await Omq.AllAsync(
            _omq.RunAsync("sub", "create", topic, "replay", "--type", "exclusive", "--start", "earliest"),
            _omq.RunAsync("publish", topic, "a", "b", "c"));
        created.Succeeded();
        published.Succeeded();

        var first = (await _omq.RunAsync("consume", topic, "replay", "-n", "3", "-o", "json")).Succeeded().JsonLines();
        Assert.Equal(["a", "b", "c"], first.Select(m => m.Str("body")));
        var acked = (await _omq.RunAsync("sub", "describe", topic, "replay", "-o", "json")).Succeeded().Json();
        Assert.Equal(3, Assert.Single(acked.Items("partitions")).Long("ackFloor"));
        Assert.Equal(0, acked.Long("backlog"));

        var seek = (await _omq.RunAsync("sub", "seek", topic, "replay", "offset:1", "-o", "json")).Succeeded().Json();
        Assert.Equal("offset:1", seek.Str("position"));

        var replayed = (await _omq.RunAsync("consume", topic, "replay", "-n", "2", "-o", "json")).Succeeded().JsonLines();
        Assert.Equal(["b", "c"], replayed.Select(m => m.Str("body")));
        Assert.Equal([1L, 2L], replayed.Select(m => m.Long("offset")));
    }

    [Fact]
    public async Task Tail_prints_new_messages_and_deletes_its_temporary_subscription()
    {
        var topic = TestNames.Unique("tail");
        (await _omq.RunAsync("topic", "create", topic)).Succeeded();
        (await _omq.RunAsync("publish", topic, "before the tail")).Succeeded();

        await using var tail = _omq.Start(["tail", topic, "-n", "1", "--timeout", "30s", "-o", "json"]);
        // The tail reads from the end of the topic: publish only once its subscription exists.
        var deadline = DateTime.UtcNow + Omq.RunTimeout;
        while (!tail.StderrLines.Any(l => l.StartsWith("tailing", StringComparison.Ordinal)))
        {
            Assert.True(!tail.HasExited && DateTime.UtcNow < deadline, $"omq tail should announce itself on stderr.\n{tail.Describe()}");
            await Task.Delay(50);
        }

        (await _omq.RunAsync("publish", topic, "-k", "k1", "live")).Succeeded();
        Assert.True(await tail.WaitForExitAsync(Omq.RunTimeout) == 0, $"omq tail should exit 0 after one message.\n{tail.Describe()}");

        var line = Assert.Single(tail.StdoutLines);
        using var message = System.Text.Json.JsonDocument.Parse(line);
        Assert.Equal("live", message.RootElement.Str("body"));
        Assert.Equal("k1", message.RootElement.Str("key"));
        Assert.Empty((await _omq.RunAsync("sub", "list", topic, "-o", "json")).Succeeded().Json().Items());
    }

    [Fact]
    public async Task Cluster_status_shows_the_silo_and_its_partition_grains()
    {
        var topic = TestNames.Unique("cluster");
        (await _omq.RunAsync("topic", "create", topic, "--partitions", "2")).Succeeded();

        var status = (await _omq.RunAsync("cluster", "status", "-o", "json")).Succeeded().Json();

        var silo = Assert.Single(status.Items("silos"));
        Assert.Equal("active", silo.Str("status"));
        Assert.Contains($":{broker.Silo.SiloPort}@", silo.Str("address"), StringComparison.Ordinal);
        var partitions = Assert.Single(status.Items("grains"), g => g.Str("type") == "partition");
        Assert.True(partitions.Int("activations") >= 2, $"at least the new topic's 2 partition grains should be active: {status}");
        Assert.Equal(silo.Str("address"), partitions.Str("silo"));
    }
}
