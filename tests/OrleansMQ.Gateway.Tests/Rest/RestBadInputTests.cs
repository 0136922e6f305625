using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Rest;

/// <summary>
/// Bad requests to every REST endpoint, as a table, against a real silo host: each gets an RFC 7807 problem with the
/// expected status and broker error code and a detail naming the field, value or limit; afterwards the gateway still
/// serves (a valid publish works) and nothing accepted before is lost (the subscription's backlog counts it).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RestBadInputTests(GatewayFixture gateway)
{
    /// <summary>
    /// A request; <c>{topic}</c> in the path is a fresh topic with subscription <c>audit</c> (Earliest), exchange
    /// <c>{topic}.x</c> (direct) and one accepted message. <see cref="Body"/> is sent as JSON text (null: no body).
    /// </summary>
    public sealed record Case(string Method, string Path, string? Body, HttpStatusCode Status, string Code, params string[] Detail);

    private static readonly string SixtyFiveHeaders = JsonSerializer.Serialize(new { text = "x", headers = Enumerable.Range(0, 65).ToDictionary(i => $"h{i}", _ => "v") });

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["publish with no body"] = new("POST", "topics/{topic}/messages", null, HttpStatusCode.BadRequest, "InvalidArgument", "body"),
        ["publish with broken JSON"] = new("POST", "topics/{topic}/messages", "{\"text\": ", HttpStatusCode.BadRequest, "InvalidArgument", "JSON"),
        ["publish with a number as text"] = new("POST", "topics/{topic}/messages", "{\"text\": 5}", HttpStatusCode.BadRequest, "InvalidArgument", "text"),
        ["publish text and base64"] = new("POST", "topics/{topic}/messages", "{\"text\":\"a\",\"base64\":\"YQ==\"}", HttpStatusCode.BadRequest, "InvalidArgument", "'text'", "'base64'"),
        ["publish invalid base64"] = new("POST", "topics/{topic}/messages", "{\"base64\":\"!!!\"}", HttpStatusCode.BadRequest, "InvalidArgument", "'base64'"),
        ["publish 65 headers"] = new("POST", "topics/{topic}/messages", SixtyFiveHeaders, HttpStatusCode.BadRequest, "HeadersTooLarge", "65 headers", "limit is 64"),
        ["publish a 4097-char header"] = new("POST", "topics/{topic}/messages", JsonSerializer.Serialize(new { text = "x", headers = new { big = new string('v', 4097) } }),
            HttpStatusCode.BadRequest, "HeadersTooLarge", "4097", "limit is 4096"),
        ["publish an empty batch"] = new("POST", "topics/{topic}/messages/batch", "{\"messages\":[]}", HttpStatusCode.BadRequest, "InvalidArgument", "messages"),
        ["publish to a 201-char topic"] = new("POST", $"topics/{new string('t', 201)}/messages", "{\"text\":\"x\"}", HttpStatusCode.BadRequest, "InvalidName", "length 201", "1–200"),
        ["publish to an unknown exchange"] = new("POST", "exchanges/no-such-exchange/messages", "{\"text\":\"x\"}", HttpStatusCode.NotFound, "NotFound", "no-such-exchange"),
        ["publish with a misspelt field"] = new("POST", "topics/{topic}/messages", "{\"text\":\"x\",\"header\":{\"a\":\"b\"}}", HttpStatusCode.BadRequest, "InvalidArgument", "'header'"),
        ["create topic with a misspelt field"] = new("PUT", "topics/{topic}-typo", "{\"parititons\":3}", HttpStatusCode.BadRequest, "InvalidArgument", "'parititons'"),
        ["create topic with -1 partitions"] = new("PUT", "topics/{topic}-neg", "{\"partitions\":-1}", HttpStatusCode.BadRequest, "InvalidArgument", "partitions is -1"),
        ["create subscription with ack timeout 0"] = new("PUT", "topics/{topic}/subscriptions/zero", "{\"ackTimeoutMs\":0}", HttpStatusCode.BadRequest, "InvalidArgument", "ack timeout"),
        ["create subscription with an unknown type"] = new("PUT", "topics/{topic}/subscriptions/odd", "{\"type\":\"Sometimes\"}", HttpStatusCode.BadRequest, "InvalidArgument", "$.type"),
        ["receive max 0"] = new("POST", "topics/{topic}/subscriptions/audit/receive?max=0", null, HttpStatusCode.BadRequest, "InvalidArgument", "max 0"),
        ["receive max 2^31"] = new("POST", "topics/{topic}/subscriptions/audit/receive?max=2147483648", null, HttpStatusCode.BadRequest, "InvalidArgument", "max"),
        ["receive wait 'soon'"] = new("POST", "topics/{topic}/subscriptions/audit/receive?wait=soon", null, HttpStatusCode.BadRequest, "InvalidArgument", "wait 'soon'"),
        ["receive from an unknown subscription"] = new("POST", "topics/{topic}/subscriptions/nobody/receive", null, HttpStatusCode.NotFound, "NotFound", "nobody"),
        ["ack without a consumer id"] = new("POST", "topics/{topic}/subscriptions/audit/ack", "{\"ids\":[\"0-0-1\"]}", HttpStatusCode.BadRequest, "InvalidArgument", "OMQ-Consumer-Id"),
        ["ack a malformed delivery id"] = new("POST", "topics/{topic}/subscriptions/audit/ack?consumer=c", "{\"ids\":[\"garbage\"]}", HttpStatusCode.BadRequest, "InvalidArgument", "garbage"),
        ["ack a never-delivered id"] = new("POST", "topics/{topic}/subscriptions/audit/ack?consumer=c", "{\"ids\":[\"0-0-1\"]}", HttpStatusCode.NotFound, "UnknownDelivery", "0#1"),
        ["ack an id with a huge offset"] = new("POST", "topics/{topic}/subscriptions/audit/ack?consumer=c", "{\"ids\":[\"0-9223372036854775807-1\"]}", HttpStatusCode.NotFound, "UnknownDelivery", "9223372036854775807"),
        ["ack an id with an overflowing offset"] = new("POST", "topics/{topic}/subscriptions/audit/ack?consumer=c", "{\"ids\":[\"0-99999999999999999999-1\"]}", HttpStatusCode.BadRequest, "InvalidArgument", "99999999999999999999"),
        ["ack an id of a missing partition"] = new("POST", "topics/{topic}/subscriptions/audit/ack?consumer=c", "{\"ids\":[\"7-0-1\"]}", HttpStatusCode.NotFound, "NotFound", "partition 7 does not exist"),
        ["nack a never-delivered id"] = new("POST", "topics/{topic}/subscriptions/audit/nack?consumer=c", "{\"ids\":[\"0-0-3\"]}", HttpStatusCode.NotFound, "UnknownDelivery", "0#3"),
        ["bind with a filter syntax error"] = new("POST", "exchanges/{topic}.x/bindings", "{\"destination\":\"{topic}\",\"key\":\"k\",\"filter\":\"headers.a ==\"}",
            HttpStatusCode.BadRequest, "InvalidArgument", "expected a value", "position"),
        ["bind to an unknown topic"] = new("POST", "exchanges/{topic}.x/bindings", "{\"destination\":\"no-such-topic\",\"key\":\"k\"}", HttpStatusCode.NotFound, "NotFound", "no-such-topic"),
        ["browse dead letters with max 0"] = new("GET", "topics/{topic}/subscriptions/audit/dlq?max=0", null, HttpStatusCode.BadRequest, "InvalidArgument", "max"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public async Task A_binding_filter_sent_over_http_is_applied_not_dropped()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("filtered"));
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        (await gateway.Http.PutAsJsonAsync($"exchanges/{topic}.x", new { type = "Direct" })).EnsureSuccessStatusCode();
        using var bind = await gateway.Http.PostAsJsonAsync($"exchanges/{topic}.x/bindings", new { destination = topic, key = "k", filter = "headers.region == 'eu'" });
        Assert.True(bind.IsSuccessStatusCode, await bind.Content.ReadAsStringAsync());
        var exchange = await bind.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("headers.region == 'eu'", exchange.GetProperty("bindings")[0].GetProperty("filter").GetString());

        using var eu = await gateway.Http.PostAsJsonAsync($"exchanges/{topic}.x/messages", new { routingKey = "k", text = "eu", headers = new { region = "eu" } });
        Assert.True(eu.IsSuccessStatusCode, await eu.Content.ReadAsStringAsync());
        using var us = await gateway.Http.PostAsJsonAsync($"exchanges/{topic}.x/messages", new { routingKey = "k", text = "us", headers = new { region = "us" } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, us.StatusCode); // filtered out: no binding matched (unroutable)
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(1, subscription.GetProperty("backlog").GetInt64());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_requests_get_a_problem_naming_the_field_and_harm_nothing(string name)
    {
        var bad = Cases[name];
        var topic = await gateway.CreateTopicAsync(Unique.Name("bad"));
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        (await gateway.Http.PutAsJsonAsync($"exchanges/{topic}.x", new { type = "Direct" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "before" })).EnsureSuccessStatusCode();

        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), bad.Path.Replace("{topic}", topic, StringComparison.Ordinal));
        if (bad.Body is not null)
        {
            request.Content = new StringContent(bad.Body.Replace("{topic}", topic, StringComparison.Ordinal), Encoding.UTF8, "application/json");
        }

        using var response = await gateway.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == bad.Status, $"{name}: expected {(int)bad.Status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(bad.Code, problem.RootElement.GetProperty("code").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString() ?? "";
        foreach (var part in bad.Detail)
        {
            Assert.True(detail.Contains(part, StringComparison.Ordinal), $"{name}: the detail does not name '{part}': {detail}");
        }

        // Still serving, nothing lost: a valid publish works and the subscription counts both messages.
        (await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "after" })).EnsureSuccessStatusCode();
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(2, subscription.GetProperty("backlog").GetInt64());
    }
}
