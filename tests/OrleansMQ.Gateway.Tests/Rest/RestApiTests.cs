using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Rest;

/// <summary>The REST API with a plain HttpClient against a real silo host.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RestApiTests(GatewayFixture gateway)
{
    private HttpClient Http => gateway.Http;

    [Fact]
    public async Task Publish_receive_ack_and_nack_over_http()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("orders"), new { partitions = 2 });
        (await Http.PutAsJsonAsync($"topics/{topic}/subscriptions/billing", new { type = "Shared", start = "Earliest", nackBackoffInitialMs = 100 })).EnsureSuccessStatusCode();

        var single = await PostAsync<JsonElement>($"topics/{topic}/messages", new { text = "one", key = "customer-1", headers = new { source = "test" } });
        var batch = await PostAsync<JsonElement>($"topics/{topic}/messages/batch", new { messages = new object[] { new { text = "two", key = "customer-1" }, new { base64 = Convert.ToBase64String([0, 1, 2]), key = "customer-1" } } });
        Assert.Equal(0, single.GetProperty("offset").GetInt64());
        Assert.Equal([1L, 2L], batch.GetProperty("receipts").EnumerateArray().Select(r => r.GetProperty("offset").GetInt64()));

        var received = await ReceiveAsync($"topics/{topic}/subscriptions/billing/receive?max=10&wait=5s", consumer: "worker-1", expected: 3);
        var deliveries = received.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal("worker-1", received.GetProperty("consumerId").GetString());
        Assert.Equal("one", deliveries[0].GetProperty("message").GetProperty("text").GetString());
        Assert.Equal("test", deliveries[0].GetProperty("message").GetProperty("headers").GetProperty("source").GetString());
        Assert.Equal("AAEC", deliveries[2].GetProperty("message").GetProperty("base64").GetString());
        var ids = deliveries.Select(d => d.GetProperty("deliveryId").GetString()!).ToList();

        await SettleAsync($"topics/{topic}/subscriptions/billing/ack", "worker-1", new { ids = ids.Take(2) });
        await SettleAsync($"topics/{topic}/subscriptions/billing/nack", "worker-1", new { ids = ids.Skip(2), reason = "try later" });

        var again = await ReceiveAsync($"topics/{topic}/subscriptions/billing/receive?max=10&wait=5s", consumer: "worker-1", expected: 1);
        var redelivered = Assert.Single(again.GetProperty("deliveries").EnumerateArray());
        Assert.Equal(2, redelivered.GetProperty("deliveryCount").GetInt32());
        Assert.True(redelivered.GetProperty("redelivered").GetBoolean());
        await SettleAsync($"topics/{topic}/subscriptions/billing/ack", "worker-1", new { ids = new[] { redelivered.GetProperty("deliveryId").GetString() } });

        var subscription = await Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/billing");
        Assert.Equal(0, subscription.GetProperty("backlog").GetInt64());
    }

    [Fact]
    public async Task With_anonymous_access_on_a_request_without_credentials_is_served_but_a_bad_credential_is_401()
    {
        // silo-host's embedded appsettings.json allows anonymous callers; credentials that are present still must be valid.
        var topic = await gateway.CreateTopicAsync(Unique.Name("anon"));
        using var badKey = new HttpRequestMessage(HttpMethod.Post, $"topics/{topic}/messages") { Content = JsonContent.Create(new { text = "x" }) };
        badKey.Headers.Add("X-Api-Key", "no-such-key-0123456789");
        using var bearer = new HttpRequestMessage(HttpMethod.Post, $"topics/{topic}/messages") { Content = JsonContent.Create(new { text = "x" }) };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "eyJhbGciOiJIUzI1NiJ9.e30.sig");

        using var refusedKey = await Http.SendAsync(badKey);
        using var refusedBearer = await Http.SendAsync(bearer);

        await AssertProblemAsync(refusedKey, HttpStatusCode.Unauthorized, "Unauthorized");
        Assert.Equal(HttpStatusCode.Unauthorized, refusedBearer.StatusCode);
        Assert.Contains("Bearer tokens are not accepted", await refusedBearer.Content.ReadAsStringAsync());
        using var anonymous = await Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "anonymous is fine here" });
        anonymous.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_delivery_not_acked_within_the_ack_timeout_comes_back_and_the_stale_ack_is_410()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("lease"), new { ackTimeoutMs = 500 });
        await PostAsync<JsonElement>($"queues/{queue}/messages", new { text = "job" });

        var first = await ReceiveAsync($"queues/{queue}/receive?wait=5s", consumer: "a", expected: 1);
        var second = await ReceiveAsync($"queues/{queue}/receive?wait=10s", consumer: "a", expected: 1);

        var lost = first.GetProperty("deliveries")[0];
        var retried = second.GetProperty("deliveries")[0];
        Assert.Equal(lost.GetProperty("offset").GetInt64(), retried.GetProperty("offset").GetInt64());
        Assert.Equal(2, retried.GetProperty("deliveryCount").GetInt32());
        using var stale = await SendAsync(HttpMethod.Post, $"queues/{queue}/ack?consumer=a", new { ids = new[] { lost.GetProperty("deliveryId").GetString() } });
        await AssertProblemAsync(stale, HttpStatusCode.Gone, "DeliveryExpired");
        await SettleAsync($"queues/{queue}/ack", "a", new { ids = new[] { retried.GetProperty("deliveryId").GetString() } });
    }

    [Fact]
    public async Task Dead_letters_can_be_browsed_and_redriven_over_http()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Name("dlq"), new { maxDeliveries = 1 });
        await PostAsync<JsonElement>($"queues/{queue}/messages", new { text = "bad input" });
        var received = await ReceiveAsync($"queues/{queue}/receive?wait=5s", consumer: "w", expected: 1);
        await SettleAsync($"queues/{queue}/nack", "w", new { ids = new[] { received.GetProperty("deliveries")[0].GetProperty("deliveryId").GetString() }, reason = "cannot parse" });

        var page = await Eventually(async () =>
        {
            var p = await Http.GetFromJsonAsync<JsonElement>($"queues/{queue}/dlq?from=0&max=10");
            return p.GetProperty("messages").GetArrayLength() == 1 ? p : (JsonElement?)null;
        });
        var dead = page.GetProperty("messages")[0];
        Assert.Equal($"{queue}.queue.dlq", page.GetProperty("topic").GetString());
        Assert.Equal("cannot parse", dead.GetProperty("headers").GetProperty("omq-dlq-reason").GetString());
        Assert.Equal(1, page.GetProperty("next").GetInt64());

        var redrive = await PostAsync<JsonElement>($"queues/{queue}/redrive", new { });
        Assert.Equal(1, redrive.GetProperty("moved").GetInt32());
        var back = await ReceiveAsync($"queues/{queue}/receive?wait=5s", consumer: "w", expected: 1);
        var message = back.GetProperty("deliveries")[0].GetProperty("message");
        Assert.Equal("bad input", message.GetProperty("text").GetString());
        Assert.Equal("true", message.GetProperty("headers").GetProperty("omq-redriven").GetString());
    }

    [Fact]
    public async Task Publishing_through_an_exchange_routes_by_pattern_and_unroutable_is_422()
    {
        var eu = await gateway.CreateQueueAsync(Unique.Name("eu"));
        var all = await gateway.CreateQueueAsync(Unique.Name("all"));
        var exchange = Unique.Name("events");
        await PutAsync($"exchanges/{exchange}", new { type = "Topic" });
        await PostAsync<JsonElement>($"exchanges/{exchange}/bindings", new { destination = eu, key = "orders.*.eu" });
        await PostAsync<JsonElement>($"exchanges/{exchange}/bindings", new { destination = all, key = "orders.#" });

        var routed = await PostAsync<JsonElement>($"exchanges/{exchange}/messages", new { routingKey = "orders.created.eu", text = "hello" });
        Assert.Equal([all, eu], routed.GetProperty("destinations").EnumerateArray().Select(d => d.GetProperty("topic").GetString()).Order(StringComparer.Ordinal));

        using var unroutable = await SendAsync(HttpMethod.Post, $"exchanges/{exchange}/messages", new { routingKey = "invoices.paid", text = "x" });
        await AssertProblemAsync(unroutable, HttpStatusCode.UnprocessableEntity, "Unroutable");
    }

    [Fact]
    public async Task Errors_are_problem_details_with_the_broker_error_code()
    {
        using (var missing = await SendAsync(HttpMethod.Post, $"topics/{Unique.Name("missing")}/messages", new { text = "x" }))
        {
            await AssertProblemAsync(missing, HttpStatusCode.NotFound, "NotFound");
        }

        using (var badName = await SendAsync(HttpMethod.Post, "topics/bad$name/messages", new { text = "x" }))
        {
            await AssertProblemAsync(badName, HttpStatusCode.BadRequest, "InvalidName");
        }

        var topic = await gateway.CreateTopicAsync(Unique.Name("limits"));
        using (var oversize = await SendAsync(HttpMethod.Post, $"topics/{topic}/messages", new { base64 = Convert.ToBase64String(new byte[2 * 1024 * 1024]) }))
        {
            await AssertProblemAsync(oversize, HttpStatusCode.RequestEntityTooLarge, "MessageTooLarge");
        }

        using (var justOver = await SendAsync(HttpMethod.Post, $"topics/{topic}/messages", new { base64 = Convert.ToBase64String(new byte[(1024 * 1024) + 1]) }))
        {
            // Within the HTTP body limit, but over the topic's 1 MiB message limit: the broker refuses it.
            await AssertProblemAsync(justOver, HttpStatusCode.RequestEntityTooLarge, "MessageTooLarge");
        }

        using (var content = new StringContent("{not json", Encoding.UTF8, "application/json"))
        using (var badJson = await Http.PostAsync($"topics/{topic}/messages", content))
        {
            await AssertProblemAsync(badJson, HttpStatusCode.BadRequest, "InvalidArgument");
        }

        using (var conflict = await SendAsync(HttpMethod.Put, $"topics/{topic}", new { partitions = 3 }))
        {
            await AssertProblemAsync(conflict, HttpStatusCode.Conflict, "AlreadyExists");
        }

        using (var unknown = await SendAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/nobody/receive", new { }))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "NotFound");
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        var document = await Http.GetFromJsonAsync<JsonElement>("openapi/v1.json");

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/topics/{topic}/messages", "/topics/{topic}/messages/batch", "/topics/{topic}/subscriptions/{subscription}/receive",
                     "/topics/{topic}/subscriptions/{subscription}/ack", "/topics/{topic}/subscriptions/{subscription}/dlq", "/queues/{queue}", "/exchanges/{exchange}/messages" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"the OpenAPI document has no {path}");
        }

        var publish = paths.GetProperty("/topics/{topic}/messages").GetProperty("post");
        Assert.True(publish.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(publish.GetProperty("responses").TryGetProperty("404", out _));
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("PublishRequest", out _));
    }

    [Fact]
    public async Task Topics_can_be_listed_described_and_deleted()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("admin"), new { partitions = 4, retentionMaxAgeMs = 60_000 });
        await PutAsync($"topics/{topic}/subscriptions/s1", new { type = "KeyShared" });

        Assert.Contains(topic, await Http.GetFromJsonAsync<List<string>>("topics") ?? []);
        var info = await Http.GetFromJsonAsync<JsonElement>($"topics/{topic}");
        Assert.Equal(4, info.GetProperty("partitions").GetInt32());
        Assert.Equal(60_000, info.GetProperty("retentionMaxAgeMs").GetInt64());
        Assert.Equal("KeyShared", info.GetProperty("subscriptions")[0].GetProperty("type").GetString());

        using (var deleteSub = await Http.DeleteAsync($"topics/{topic}/subscriptions/s1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleteSub.StatusCode);
        }

        using (var delete = await Http.DeleteAsync($"topics/{topic}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using var gone = await Http.GetAsync($"topics/{topic}");
        await AssertProblemAsync(gone, HttpStatusCode.NotFound, "NotFound");
    }

    private async Task<T> PostAsync<T>(string path, object body)
    {
        using var response = await SendAsync(HttpMethod.Post, path, body);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    private async Task PutAsync(string path, object body)
    {
        using var response = await SendAsync(HttpMethod.Put, path, body);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task SettleAsync(string path, string consumer, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("OMQ-Consumer-Id", consumer);
        using var response = await Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Receives (as <paramref name="consumer"/>) until <paramref name="expected"/> deliveries came in one answer or a few polls passed.</summary>
    private async Task<JsonElement> ReceiveAsync(string path, string consumer, int expected)
    {
        JsonElement last = default;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path);
            request.Headers.Add("OMQ-Consumer-Id", consumer);
            using var response = await Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            last = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (last.GetProperty("deliveries").GetArrayLength() >= expected)
            {
                return last;
            }

            if (last.GetProperty("deliveries").GetArrayLength() > 0)
            {
                // Deliveries arrive per partition; a partial answer means the rest are on their way.
                throw new Xunit.Sdk.XunitException($"expected {expected} deliveries in one receive, got {last}");
            }
        }

        throw new Xunit.Sdk.XunitException($"no deliveries from {path}: {last}\n{gateway.Describe()}");
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object body) =>
        Http.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) });

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal($"urn:orleansmq:error:{code}", problem.RootElement.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
    }

    private static async Task<JsonElement> Eventually(Func<Task<JsonElement?>> probe)
    {
        for (var i = 0; i < 50; i++)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException("the condition never held within 5 s");
    }
}
