using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.WebSockets;

/// <summary>
/// The plain WebSocket streaming consume protocol (<c>/queues/{q}/stream</c>) driven by the third-party <c>ws</c> client
/// under Node against a real silo host; the broker's state is checked over REST afterwards.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class WebSocketStreamTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Credit_bounds_what_is_sent_and_leased_and_acks_remove_the_messages()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("wscredit"), new { partitions = 1 });

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "credit", "--queue", queue);

        // Credit 3 of 5 messages: exactly three were sent before the pong, and no credit was left.
        Assert.Equal(["m1", "m2", "m3"], Texts(result.GetProperty("first")));
        Assert.Equal(3, result.GetProperty("messagesBeforeFirstPong").GetInt32());
        Assert.Equal(0, result.GetProperty("pongAfterCredit").GetProperty("credit").GetInt64());
        Assert.Equal(3, result.GetProperty("pongAfterCredit").GetProperty("inFlight").GetInt32());
        // The other two were not leased to A (it had no credit for them): the second consumer got them first time round.
        var second = result.GetProperty("second").EnumerateArray().ToList();
        Assert.Equal(["m4", "m5", "m6"], second.Select(m => m.GetProperty("text").GetString()));
        Assert.All(second, m => Assert.Equal(1, m.GetProperty("deliveryCount").GetInt32()));
        Assert.Equal(0, result.GetProperty("pongAfterAcks").GetProperty("inFlight").GetInt32());
        // More credit resumes delivery.
        Assert.Equal("m7", result.GetProperty("resumed").GetProperty("text").GetString());
        Assert.Equal(0, result.GetProperty("finalPong").GetProperty("credit").GetInt64());
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
        var first = result.GetProperty("first")[0];
        Assert.Equal(queue, first.GetProperty("topic").GetString());
        Assert.Equal(0, first.GetProperty("offset").GetInt64());
        Assert.Equal("0-0-1", first.GetProperty("id").GetString());

        await AssertBacklogDrainsAsync(queue);
    }

    [Fact]
    public async Task Nack_redelivers_the_message()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("wsnack"), new { nackBackoffInitialMs = 50 });

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "nack", "--queue", queue);

        var deliveries = result.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(["n1", "n1"], deliveries.Select(d => d.GetProperty("text").GetString()));
        Assert.Equal([1, 2], deliveries.Select(d => d.GetProperty("deliveryCount").GetInt32()));
        Assert.Equal([false, true], deliveries.Select(d => d.GetProperty("redelivered").GetBoolean()));
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
        await AssertBacklogDrainsAsync(queue);
    }

    [Fact]
    public async Task A_topic_subscription_streams_with_headers_keys_and_base64_bodies()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("wstopic"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/readers", new { type = "Shared", start = "Earliest" })).EnsureSuccessStatusCode();

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "topic", "--topic", topic, "--subscription", "readers");

        var messages = result.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["t1", "t2"], messages.Select(m => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(m.GetProperty("base64").GetString()!))));
        Assert.All(messages, m =>
        {
            Assert.False(m.TryGetProperty("text", out _));
            Assert.Equal(topic, m.GetProperty("topic").GetString());
            Assert.Equal("k", m.GetProperty("key").GetString());
        });
        Assert.Equal(["t1", "t2"], messages.Select(m => m.GetProperty("headers").GetProperty("h").GetString()));
        Assert.Empty(result.GetProperty("errors").EnumerateArray());

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/readers");
            if (subscription.GetProperty("backlog").GetInt64() == 0)
            {
                break;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the subscription still has a backlog: {subscription}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task An_ack_after_the_lease_ran_out_is_a_non_fatal_error_and_the_session_goes_on()
    {
        // The shortest ack timeout: the message comes back to the same session (it has credit 2) once the lease is gone.
        var queue = await gateway.CreateQueueAsync(Unique.Name("wsexpired"), new { partitions = 1, ackTimeoutMs = 100 });

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "expired", "--queue", queue);

        var deliveries = result.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal([1, 2], deliveries.Select(d => d.GetProperty("deliveryCount").GetInt32()));
        var error = Assert.Single(result.GetProperty("errors").EnumerateArray());
        Assert.Equal("DeliveryExpired", error.GetProperty("code").GetString());
        Assert.False(error.GetProperty("fatal").GetBoolean());
        Assert.Equal(deliveries[0].GetProperty("id").GetString(), error.GetProperty("id").GetString());
        Assert.Equal(0, result.GetProperty("pong").GetProperty("inFlight").GetInt32());
        await AssertBacklogDrainsAsync(queue);
    }

    [Fact]
    public async Task Disconnect_releases_unacked_deliveries_to_the_next_consumer_at_once()
    {
        // A 10-minute ack timeout: only the close can hand the messages over within the test's deadline.
        var queue = await gateway.CreateQueueAsync(Unique.Name("wsleave"), new { partitions = 1, ackTimeoutMs = 600_000 });

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "disconnect", "--queue", queue);

        Assert.Equal(["d1", "d2", "d3"], Texts(result.GetProperty("first")));
        Assert.Equal(1000, result.GetProperty("closeA").GetProperty("code").GetInt32());
        var second = result.GetProperty("second").EnumerateArray().ToList();
        Assert.Equal(["d1", "d2", "d3"], second.Select(m => m.GetProperty("text").GetString()));
        Assert.All(second, m => Assert.True(m.GetProperty("redelivered").GetBoolean()));
        await AssertBacklogDrainsAsync(queue);
    }

    [Fact]
    public async Task Bad_frames_get_an_error_frame_and_the_close_and_lose_nothing()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("wsbad"), new { partitions = 1, ackTimeoutMs = 600_000, maxDeliveries = 100 });

        var result = await NodeWebSocketStreamClient.RunAsync(gateway, "badFrames", "--queue", queue);

        var expected = new Dictionary<string, (string Code, int Close)>
        {
            ["not-json"] = ("InvalidArgument", 1008),
            ["array"] = ("InvalidArgument", 1008),
            ["unknown-type"] = ("InvalidArgument", 1008),
            ["negative-credit"] = ("InvalidArgument", 1008),
            ["credit-not-integer"] = ("InvalidArgument", 1008),
            ["too-much-credit"] = ("InvalidArgument", 1008),
            ["unknown-delivery"] = ("UnknownDelivery", 1008),
            ["malformed-id"] = ("InvalidArgument", 1008),
            ["binary"] = ("InvalidArgument", 1008),
            ["oversized"] = ("MessageTooLarge", 1008),
        };
        var cases = result.GetProperty("cases");
        foreach (var (name, (code, close)) in expected)
        {
            var outcome = cases.GetProperty(name);
            Assert.True(outcome.GetProperty("error").ValueKind == JsonValueKind.Object, $"{name}: no error frame: {outcome}");
            Assert.Equal(code, outcome.GetProperty("error").GetProperty("code").GetString());
            Assert.True(outcome.GetProperty("error").GetProperty("fatal").GetBoolean(), name);
            Assert.False(string.IsNullOrEmpty(outcome.GetProperty("error").GetProperty("message").GetString()), name);
            Assert.Equal(close, outcome.GetProperty("close").GetProperty("code").GetInt32());
            Assert.Equal(2, outcome.GetProperty("messages").GetInt32());
        }

        var missing = result.GetProperty("missing");
        Assert.Equal("NotFound", missing.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1008, missing.GetProperty("close").GetProperty("code").GetInt32());

        // (Each released delivery counts toward maxDeliveries, hence 100 above.)
        // Nothing lost: every bad session's deliveries went back, and the last consumer got both and acked them.
        var survivors = result.GetProperty("survivors").EnumerateArray().ToList();
        Assert.Equal(["b1", "b2"], survivors.Select(m => m.GetProperty("text").GetString()));
        Assert.All(survivors, m => Assert.Equal(expected.Count + 1, m.GetProperty("deliveryCount").GetInt32()));
        await AssertBacklogDrainsAsync(queue);
    }

    [Fact]
    public async Task A_plain_http_get_of_a_stream_is_a_problem_not_an_upgrade()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("wsplain"));

        using var response = await gateway.Http.GetAsync($"queues/{queue}/stream");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidArgument", problem.GetProperty("code").GetString());
        Assert.Contains("WebSocket", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_stream_protocol()
    {
        var document = await gateway.Http.GetFromJsonAsync<JsonElement>("openapi/v1.json");

        var operation = document.GetProperty("paths").GetProperty("/queues/{queue}/stream").GetProperty("get");
        Assert.Contains("\"type\":\"credit\"", operation.GetProperty("description").GetString());
        Assert.True(document.GetProperty("paths").TryGetProperty("/topics/{topic}/subscriptions/{subscription}/stream", out _));
    }

    private static List<string?> Texts(JsonElement messages) => [.. messages.EnumerateArray().Select(m => m.GetProperty("text").GetString())];

    /// <summary>Acks are applied by the broker asynchronously: polls the queue's backlog until it is 0 (deadline 30 s).</summary>
    private async Task AssertBacklogDrainsAsync(string queue)
    {
        var deadline = Stopwatch.StartNew();
        JsonElement stats;
        do
        {
            stats = await gateway.Http.GetFromJsonAsync<JsonElement>($"queues/{queue}");
            if (stats.GetProperty("backlog").GetInt64() == 0)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(30));

        Assert.Fail($"queue {queue} still has a backlog: {stats}");
    }
}
