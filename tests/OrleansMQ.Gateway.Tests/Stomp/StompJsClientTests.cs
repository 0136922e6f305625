using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Stomp;

/// <summary>STOMP 1.2 conformance with a real third-party client (@stomp/stompjs under Node) against a real silo host.</summary>
[Collection(GatewayCollection.Name)]
public sealed class StompJsClientTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Publish_and_subscribe_through_topics_queues_and_exchanges(string transport)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("t"));
        var queue = await gateway.CreateQueueAsync(Unique.Name("q"));
        var exchange = Unique.Name("x");
        (await gateway.Http.PutAsJsonAsync($"exchanges/{exchange}", new { type = "Direct" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"exchanges/{exchange}/bindings", new { destination = queue, key = "orders.created" })).EnsureSuccessStatusCode();

        var result = await NodeStompClient.RunAsync(gateway, "pubsub", transport, "--topic", topic, "--queue", queue, "--exchange", exchange);

        Assert.Equal("1.2", result.GetProperty("version").GetString());
        Assert.StartsWith("OrleansMQ/", result.GetProperty("server").GetString());
        var onTopic = result.GetProperty("topic").EnumerateArray().ToList();
        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], onTopic.Select(m => m.GetProperty("body").GetString()));
        Assert.All(onTopic, m =>
        {
            Assert.Equal($"/topic/{topic}", m.GetProperty("destination").GetString());
            Assert.Equal("k", m.GetProperty("key").GetString());
            Assert.Equal("text/plain", m.GetProperty("contentType").GetString());
            Assert.Equal("a:b\nc", m.GetProperty("odd").GetString());
            Assert.False(m.TryGetProperty("ack", out _), "auto-ack MESSAGE frames carry no ack header");
        });
        Assert.Equal(["0", "1", "2", "3", "4"], onTopic.Select(m => m.GetProperty("n").GetString()));
        Assert.Equal(5, onTopic.Select(m => m.GetProperty("messageId").GetString()).Distinct().Count());

        var onQueue = result.GetProperty("queue").EnumerateArray().Select(m => m.GetProperty("body").GetString()).ToList();
        // SENDs to one destination keep their order; the exchange's router appends on its own path, so it may land anywhere.
        Assert.Equal(["q0", "q1", "q2"], onQueue.Where(b => b != "via-exchange"));
        Assert.Single(onQueue, "via-exchange");

        // Every queue message was acked (client-individual) before DISCONNECT: nothing is left.
        var stats = await gateway.Http.GetFromJsonAsync<JsonElement>($"queues/{queue}");
        Assert.Equal(0, stats.GetProperty("backlog").GetInt64());
    }

    [Fact]
    public async Task Client_individual_nack_redelivers_then_dead_letters_after_max_deliveries()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("poison"), new { maxDeliveries = 2, nackBackoffInitialMs = 50 });

        var result = await NodeStompClient.RunAsync(gateway, "nack", "tcp", "--queue", queue, "--expect", "2", "--settle", "800");

        var deliveries = result.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(2, deliveries.Count);
        Assert.Equal([1, 2], deliveries.Select(d => d.GetProperty("deliveryCount").GetInt32()));
        Assert.Equal([false, true], deliveries.Select(d => d.GetProperty("redelivered").GetBoolean()));
        Assert.Single(deliveries.Select(d => d.GetProperty("messageId").GetString()).Distinct());

        var dlq = await gateway.Http.GetFromJsonAsync<JsonElement>($"queues/{queue}/dlq");
        var dead = Assert.Single(dlq.GetProperty("messages").EnumerateArray());
        Assert.Equal("poison", dead.GetProperty("text").GetString());
        Assert.Equal("poison pill", dead.GetProperty("headers").GetProperty("omq-dlq-reason").GetString());
        Assert.Equal("2", dead.GetProperty("headers").GetProperty("omq-delivery-count").GetString());
    }

    [Fact]
    public async Task Client_ack_is_cumulative_and_unacked_messages_go_to_the_next_consumer()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("cumulative"));

        var result = await NodeStompClient.RunAsync(gateway, "cumulative", "tcp", "--queue", queue);

        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], result.GetProperty("first").EnumerateArray().Select(m => m.GetProperty("body").GetString()));
        var second = result.GetProperty("second").EnumerateArray().ToList();
        Assert.Equal(["m4", "m5"], second.Select(m => m.GetProperty("body").GetString()));
        Assert.All(second, m => Assert.True(m.GetProperty("redelivered").GetBoolean()));
    }

    [Fact]
    public async Task Transactions_buffer_sends_and_acks_until_commit_and_drop_them_on_abort()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("tx"));
        var topic = await gateway.CreateTopicAsync(Unique.Name("txbarrier"));

        var result = await NodeStompClient.RunAsync(gateway, "transaction", "ws", "--queue", queue, "--topic", topic);

        Assert.Equal(["committed-1", "committed-2"], result.GetProperty("received").EnumerateArray().Select(m => m.GetProperty("body").GetString()));
        var stats = await gateway.Http.GetFromJsonAsync<JsonElement>($"queues/{queue}");
        Assert.Equal(0, stats.GetProperty("backlog").GetInt64());
    }

    [Fact]
    public async Task Heart_beats_both_ways_keep_an_idle_connection_open()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("hb"));

        var result = await NodeStompClient.RunAsync(gateway, "heartbeat", "tcp", "--topic", topic, "--idle", "3000");

        Assert.Equal("1000,1000", result.GetProperty("heartBeat").GetString());
        Assert.True(result.GetProperty("aliveAfterIdle").GetBoolean());
    }

    [Fact]
    public async Task A_refused_send_gets_an_error_frame_with_its_receipt_id_and_the_connection_closes()
    {
        var result = await NodeStompClient.RunAsync(gateway, "error", "ws", "--topic", Unique.Name("missing"));

        var error = result.GetProperty("error");
        Assert.Equal("doomed", error.GetProperty("receipt-id").GetString());
        Assert.Equal("NotFound", error.GetProperty("omq-error-code").GetString());
        Assert.Contains("does not exist", error.GetProperty("message").GetString());
        Assert.True(result.GetProperty("closedAfterError").GetBoolean());
    }
}
