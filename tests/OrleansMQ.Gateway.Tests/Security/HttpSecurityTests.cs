using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;
using static OrleansMQ.Gateway.Tests.Security.SecureGatewayExtensions;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>Authentication (API keys, JWT) and access rules over HTTP, against a silo host with anonymous access off.</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class HttpSecurityTests(SecureGatewayFixture gateway)
{
    [Fact]
    public async Task Publish_without_credentials_is_401_and_writes_nothing()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });

        using var response = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.None, new { text = "sneaky" });

        var detail = await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized");
        Assert.Contains("Credentials are required", detail);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Theory]
    [InlineData("", "401 Unauthorized")]
    [InlineData("X-Api-Key: " + SecureGatewayFixture.ConsumerKey + "\r\n", "403 Forbidden")]
    public async Task A_refused_publish_is_answered_before_its_body_is_sent(string credentials, string expectedStatus)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        using var client = new System.Net.Sockets.TcpClient(System.Net.Sockets.AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, gateway.HttpPort);
        var stream = client.GetStream();

        // Headers announce a 100 kB body that never comes: only a check made before reading it can answer.
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /topics/{topic}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{credentials}Content-Length: 100000\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, timeout.Token);

        Assert.StartsWith($"HTTP/1.1 {expectedStatus}", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Fact]
    public async Task Listing_topics_without_credentials_is_401_but_health_stays_open()
    {
        using var list = await gateway.SendAsAsync(HttpMethod.Get, "topics", Credential.None);
        await AssertProblemAsync(list, HttpStatusCode.Unauthorized, "Unauthorized");
        using var health = await gateway.SendAsAsync(HttpMethod.Get, "health", Credential.None);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData(CredentialKind.ApiKeyHeader)]
    [InlineData(CredentialKind.ApiKeyAuthorization)]
    public async Task Unknown_api_key_is_401_and_writes_nothing(CredentialKind kind)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });

        using var response = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", new Credential(kind, SecureGatewayFixture.ProducerKey + "x"), new { text = "x" });

        Assert.Equal("The API key is not valid.", await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized"));
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Theory]
    [InlineData(CredentialKind.ApiKeyHeader)]
    [InlineData(CredentialKind.ApiKeyAuthorization)]
    public async Task Api_key_with_a_matching_rule_publishes(CredentialKind kind)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });

        using var response = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", new Credential(kind, SecureGatewayFixture.ProducerKey), new { text = "order 1" });

        response.EnsureSuccessStatusCode();
        Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Produce_without_a_matching_rule_is_403_and_writes_nothing()
    {
        // billing may consume orders.* but not produce to it; order-service may produce to orders.* only.
        var orders = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var other = await gateway.CreateTopicAsync(Unique.Name("payments"), new { partitions = 1 });

        using var byConsumer = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{orders}/messages", Credential.Key(SecureGatewayFixture.ConsumerKey), new { text = "x" });
        using var batchByConsumer = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{orders}/messages/batch", Credential.Key(SecureGatewayFixture.ConsumerKey),
            new { messages = new[] { new { text = "a" }, new { text = "b" } } });
        using var elsewhere = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{other}/messages", Credential.Key(SecureGatewayFixture.ProducerKey), new { text = "x" });

        var detail = await AssertProblemAsync(byConsumer, HttpStatusCode.Forbidden, "Forbidden");
        Assert.Equal($"Principal 'billing' may not produce topic '{orders}': no access rule allows it.", detail);
        await AssertProblemAsync(batchByConsumer, HttpStatusCode.Forbidden, "Forbidden");
        Assert.Contains("'order-service'", await AssertProblemAsync(elsewhere, HttpStatusCode.Forbidden, "Forbidden"));
        await gateway.AssertNothingWrittenAsync(orders);
        await gateway.AssertNothingWrittenAsync(other);
    }

    [Fact]
    public async Task Exchange_publish_needs_produce_on_the_exchange()
    {
        var queue = await gateway.CreateQueueAsync(Unique.Dotted("jobs"));
        (await gateway.Http.PutAsJsonAsync("exchanges/orders-x", new { type = "Fanout" })).EnsureSuccessStatusCode();
        var otherExchange = Unique.Name("x");
        (await gateway.Http.PutAsJsonAsync($"exchanges/{otherExchange}", new { type = "Fanout" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"exchanges/{otherExchange}/bindings", new { destination = queue })).EnsureSuccessStatusCode();

        using var denied = await gateway.SendAsAsync(HttpMethod.Post, $"exchanges/{otherExchange}/messages", Credential.Key(SecureGatewayFixture.ProducerKey), new { routingKey = "k", text = "x" });
        using var allowed = await gateway.SendAsAsync(HttpMethod.Post, "exchanges/orders-x/messages", Credential.Key(SecureGatewayFixture.ProducerKey), new { routingKey = "k", text = "x" });

        await AssertProblemAsync(denied, HttpStatusCode.Forbidden, "Forbidden");
        // orders-x has no bindings: the request got past authorization to the router, which refuses it as unroutable.
        await AssertProblemAsync(allowed, HttpStatusCode.UnprocessableEntity, "Unroutable");
        await gateway.AssertNothingWrittenAsync(queue, "queues");
    }

    [Fact]
    public async Task Consume_needs_a_consume_rule()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/billing", new { type = "Shared", start = "Earliest" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "invoice me" })).EnsureSuccessStatusCode();

        using var byProducer = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/billing/receive?wait=1s", Credential.Key(SecureGatewayFixture.ProducerKey));
        await AssertProblemAsync(byProducer, HttpStatusCode.Forbidden, "Forbidden");
        using var ackByProducer = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/billing/ack?consumer=c", Credential.Key(SecureGatewayFixture.ProducerKey), new { ids = new[] { "0.0.1" } });
        await AssertProblemAsync(ackByProducer, HttpStatusCode.Forbidden, "Forbidden");

        using var byConsumer = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/billing/receive?wait=10s", Credential.Key(SecureGatewayFixture.ConsumerKey));
        byConsumer.EnsureSuccessStatusCode();
        var delivery = Assert.Single((await byConsumer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deliveries").EnumerateArray());
        Assert.Equal("invoice me", delivery.GetProperty("message").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Admin_operations_need_an_admin_rule_and_change_nothing_when_denied()
    {
        var name = Unique.Dotted("orders");
        using var create = await gateway.SendAsAsync(HttpMethod.Put, $"topics/{name}", Credential.Key(SecureGatewayFixture.ProducerKey), new { partitions = 1 });
        await AssertProblemAsync(create, HttpStatusCode.Forbidden, "Forbidden");
        using var missing = await gateway.Http.GetAsync($"topics/{name}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var existing = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        using var delete = await gateway.SendAsAsync(HttpMethod.Delete, $"topics/{existing}", Credential.Key(SecureGatewayFixture.ConsumerKey));
        await AssertProblemAsync(delete, HttpStatusCode.Forbidden, "Forbidden");
        using var redrive = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{existing}/subscriptions/s/redrive", Credential.Key(SecureGatewayFixture.ConsumerKey));
        await AssertProblemAsync(redrive, HttpStatusCode.Forbidden, "Forbidden");
        using var still = await gateway.Http.GetAsync($"topics/{existing}");
        still.EnsureSuccessStatusCode();

        // Binding an exchange to a topic needs admin on the topic as well as on the exchange.
        var exchange = Unique.Name("x");
        (await gateway.Http.PutAsJsonAsync($"exchanges/{exchange}", new { type = "Fanout" })).EnsureSuccessStatusCode();
        var token = gateway.Token("ops", access: [$"admin:exchange:{exchange}"]);
        using var bind = await gateway.SendAsAsync(HttpMethod.Post, $"exchanges/{exchange}/bindings", Credential.Bearer(token), new { destination = existing });
        await AssertProblemAsync(bind, HttpStatusCode.Forbidden, "Forbidden");
        var bindings = await gateway.Http.GetFromJsonAsync<JsonElement>($"exchanges/{exchange}");
        Assert.Equal(0, bindings.GetProperty("bindings").GetArrayLength());
    }

    [Fact]
    public async Task Topic_list_shows_only_what_the_principal_may_use()
    {
        var orders = await gateway.CreateTopicAsync(Unique.Dotted("orders"));
        var payments = await gateway.CreateTopicAsync(Unique.Name("payments"));

        using var response = await gateway.SendAsAsync(HttpMethod.Get, "topics", Credential.Key(SecureGatewayFixture.ConsumerKey));

        response.EnsureSuccessStatusCode();
        var names = (await response.Content.ReadFromJsonAsync<string[]>())!;
        Assert.Contains(orders, names);
        Assert.DoesNotContain(payments, names);
        Assert.All(names, n => Assert.True(n.StartsWith("orders.", StringComparison.Ordinal) || n.StartsWith("jobs.", StringComparison.Ordinal), n));
    }

    [Fact]
    public async Task Jwt_access_comes_from_its_access_claim_and_its_roles()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var byRole = gateway.Token("svc-a", roles: ["publisher"]);
        var byClaim = gateway.Token("svc-b", access: ["produce:topic:orders.*"]);
        var nothing = gateway.Token("svc-c", access: ["consume:topic:orders.*"]);

        using var first = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.Bearer(byRole), new { text = "1" });
        using var second = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.Bearer(byClaim), new { text = "2" });
        using var third = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.Bearer(nothing), new { text = "3" });

        first.EnsureSuccessStatusCode();
        second.EnsureSuccessStatusCode();
        Assert.Contains("'svc-c'", await AssertProblemAsync(third, HttpStatusCode.Forbidden, "Forbidden"));
        using var next = await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "marker" });
        Assert.Equal(2, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Expired_token_is_401_saying_it_expired_and_writes_nothing()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var expired = gateway.Token("svc", roles: ["publisher"], notBefore: DateTime.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1));

        using var response = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.Bearer(expired), new { text = "late" });

        Assert.StartsWith("The bearer token expired at", await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized"));
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Fact]
    public async Task Token_with_a_bad_signature_issuer_or_audience_is_401()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var otherKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        (string Token, string Expected)[] cases =
        [
            (gateway.Token("svc", roles: ["publisher"], signingKey: otherKey), "The bearer token's signature is not valid."),
            (gateway.Token("svc", roles: ["publisher"], issuer: "https://evil.test"), "The bearer token's issuer is not accepted."),
            (gateway.Token("svc", roles: ["publisher"], audience: "someone-else"), "The bearer token's audience is not accepted."),
            ("eyJnot.a.token", "The bearer token is malformed."),
        ];

        foreach (var (token, expected) in cases)
        {
            using var response = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/messages", Credential.Bearer(token), new { text = "x" });
            Assert.Equal(expected, await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized"));
        }

        await gateway.AssertNothingWrittenAsync(topic);
    }
}
