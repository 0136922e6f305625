using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Testing;
using OrleansMQ.Testing.Browser;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>
/// The management page, the Prometheus endpoint and the Orleans Dashboard of a real silo-host process (file storage),
/// the page driven by Debian's headless Chromium through playwright-core.
/// </summary>
public sealed class ManagementPageTests(SiloHostFixture broker, ITestOutputHelper log) : IClassFixture<SiloHostFixture>
{
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromMinutes(4);

    private string BaseUrl => $"http://127.0.0.1:{broker.Silo.HttpPort}";

    [Fact]
    public async Task Page_creates_a_topic_publishes_shows_the_backlog_browses_dead_letters_and_redrives_and_purges_them()
    {
        HeadlessChromium.EnsureInstalled();
        var topic = "ui-" + Guid.NewGuid().ToString("N")[..10];
        var exchange = "ui-ex-" + Guid.NewGuid().ToString("N")[..10];
        using var http = await Http.ReadyClientAsync(broker.Silo.HttpPort);
        (await http.PutAsJsonAsync($"/exchanges/{exchange}", new { type = "Topic" })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/topics/{exchange}-dest", new { partitions = 1 })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"/exchanges/{exchange}/bindings", new { destination = $"{exchange}-dest", key = "orders.#" })).EnsureSuccessStatusCode();

        var scripts = Path.Combine(BuildOutputs.RepoRoot, "tests", "OrleansMQ.SiloHost.Tests", "browser");
        await using var node = ChildProcess.StartProgram("management page in chromium", "node",
            [Path.Combine(scripts, "management-page.cjs"), BaseUrl, topic, exchange, HeadlessChromium.ScreenshotDirectory],
            scripts, HeadlessChromium.NodeEnvironment());
        var exit = await node.WaitForExitAsync(BrowserTimeout);
        var line = node.StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        Assert.True(exit == 0 && line is not null, $"{node.Describe()}\n{broker.Silo.Describe()}");
        var steps = JsonDocument.Parse(line!).RootElement.GetProperty("steps");
        string Step(string name) => steps.GetProperty(name).ToString();
        log.WriteLine(steps.ToString());

        Assert.Equal("Overview", Step("overviewHeading"));
        Assert.Equal(1, steps.GetProperty("siloRows").GetInt32());
        Assert.True(steps.GetProperty("chartLoaded").GetBoolean());
        Assert.Equal($"Created topic {topic} with 1 partition(s).", Step("created"));
        Assert.Equal("0", Step("overviewBacklogBefore"));
        Assert.Equal("Published to partition 0 at offset 0.", Step("published"));
        Assert.Equal("1", Step("backlogAfterPublish"));
        Assert.Equal("1", Step("overviewBacklogAfter"));
        Assert.Contains("Dead letters of workers (1 pending)", Step("deadLetters"), StringComparison.Ordinal);
        Assert.Contains("poison-1", Step("deadLetters"), StringComparison.Ordinal);
        Assert.Contains("bad payload from the browser test", Step("deadLetters"), StringComparison.Ordinal);
        Assert.Equal("Re-drove 1 message(s) of workers.", Step("redriven"));
        Assert.Contains("(0 pending)", Step("afterRedrive"), StringComparison.Ordinal);
        Assert.Equal("2", Step("messagesAfterRedrive"));
        Assert.Equal("Purged 1 dead letter(s) of workers.", Step("purged"));
        Assert.Contains("(0 pending)", Step("afterPurge"), StringComparison.Ordinal);
        Assert.Contains($"{exchange}-dest", Step("exchange"), StringComparison.Ordinal);
        Assert.Contains("orders.#", Step("exchange"), StringComparison.Ordinal);
        Assert.Equal(404, steps.GetProperty("missingStatus").GetInt32());
        Assert.True(File.Exists(Path.Combine(HeadlessChromium.ScreenshotDirectory, "management-topic-dlq.png")));

        // The page's view agrees with the admin API: the purged dead letter is not re-driven later.
        var redrive = await http.PostAsync($"/topics/{topic}/subscriptions/workers/redrive", null);
        redrive.EnsureSuccessStatusCode();
        Assert.Equal(0, (await redrive.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("moved").GetInt32());
    }

    [Fact]
    public async Task Page_actions_refuse_a_post_without_the_forms_antiforgery_token()
    {
        using var http = await Http.ReadyClientAsync(broker.Silo.HttpPort);
        var topic = "ui-csrf-" + Guid.NewGuid().ToString("N")[..10];
        var response = await http.PostAsync("/ui/actions/topics", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = topic }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/topics/{topic}")).StatusCode);
    }

    [Fact]
    public async Task Topic_page_shows_how_many_delayed_messages_a_subscription_holds_in_memory()
    {
        using var http = await Http.ReadyClientAsync(broker.Silo.HttpPort);
        var topic = "delayed-" + Guid.NewGuid().ToString("N")[..10];
        (await http.PutAsJsonAsync($"/topics/{topic}", new { partitions = 1 })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/topics/{topic}/subscriptions/later", new { type = "Shared", start = "Earliest" })).EnsureSuccessStatusCode();
        for (var i = 0; i < 2; i++)
        {
            var delayed = new { text = $"in an hour {i}", headers = new Dictionary<string, string> { [Headers.DelayMs] = "3600000" } };
            (await http.PostAsJsonAsync($"/topics/{topic}/messages", delayed)).EnsureSuccessStatusCode();
        }

        // The subscription reads the messages into its delayed set once something asks it to (stats do not); a short
        // pull does, and returns nothing because neither is due.
        var pulled = await http.PostAsync($"/topics/{topic}/subscriptions/later/receive?max=10&wait=1s", content: null);
        var pulledBody = await pulled.Content.ReadAsStringAsync();
        log.WriteLine($"receive: {(int)pulled.StatusCode} {pulledBody}");
        pulled.EnsureSuccessStatusCode();
        Assert.DoesNotContain("in an hour", pulledBody, StringComparison.Ordinal);

        var row = "";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var page = await http.GetStringAsync($"/ui/topics/{Uri.EscapeDataString(topic)}");
            var start = page.IndexOf("data-subscription=\"later\"", StringComparison.Ordinal);
            Assert.True(start >= 0, "the topic page lists the subscription");
            row = page[start..page.IndexOf("</tr>", start, StringComparison.Ordinal)];
            if (row.Contains("<td class=\"num delayed\">2</td>", StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Contains("<td class=\"num delayed\">2</td>", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prometheus_endpoint_exports_the_broker_metrics()
    {
        using var http = await Http.ReadyClientAsync(broker.Silo.HttpPort);
        var topic = "prom-" + Guid.NewGuid().ToString("N")[..10];
        (await http.PutAsJsonAsync($"/topics/{topic}", new { partitions = 1 })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/topics/{topic}/subscriptions/s", new { type = "Shared", start = "Earliest" })).EnsureSuccessStatusCode();
        for (var i = 0; i < 3; i++)
        {
            (await http.PostAsJsonAsync($"/topics/{topic}/messages", new { text = $"m{i}" })).EnsureSuccessStatusCode();
        }

        // The exporter caches a scrape briefly; poll until the topic's series are in it.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string body;
        while (true)
        {
            var response = await http.GetAsync("/metrics");
            response.EnsureSuccessStatusCode();
            body = await response.Content.ReadAsStringAsync();
            if (body.Contains($"topic=\"{topic}\"", StringComparison.Ordinal) && body.Contains("omq_subscription_lag", StringComparison.Ordinal)
                && Lines(body, "omq_messages_published", topic).Any(l => l.EndsWith(" 3", StringComparison.Ordinal)))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/metrics never showed 3 published messages of {topic}:\n{body}");
            await Task.Delay(500);
        }

        Assert.Contains("# TYPE omq_messages_published_total counter", body, StringComparison.Ordinal);
        Assert.Contains("omq_append_duration_milliseconds_bucket", body, StringComparison.Ordinal);
        Assert.Contains("omq_storage_write_duration_milliseconds", body, StringComparison.Ordinal);
        Assert.Contains(Lines(body, "omq_subscription_lag", topic), l => l.EndsWith(" 3", StringComparison.Ordinal));
        Assert.Contains(Lines(body, "omq_partition_backlog", topic), l => l.EndsWith(" 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Orleans_dashboard_is_mounted_at_dashboard()
    {
        using var http = await Http.ReadyClientAsync(broker.Silo.HttpPort);
        var response = await http.GetAsync("/dashboard/");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {body}");
        Assert.Contains("<html", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Orleans", body, StringComparison.Ordinal);

        // Mounted next to the gateway, not part of its API description.
        var openApi = await http.GetStringAsync("/openapi/v1.json");
        Assert.Contains("\"/topics/{topic}/messages\"", openApi, StringComparison.Ordinal);
        Assert.DoesNotContain("/dashboard", openApi, StringComparison.Ordinal);
        Assert.DoesNotContain("/ui/", openApi, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Lines(string body, string metric, string topic) =>
        body.Split('\n').Where(l => l.StartsWith(metric, StringComparison.Ordinal) && l.Contains($"topic=\"{topic}\"", StringComparison.Ordinal));
}
