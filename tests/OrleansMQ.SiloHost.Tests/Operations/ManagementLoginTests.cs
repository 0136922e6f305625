using System.Net;
using System.Text.Json;
using OrleansMQ.Testing.Browser;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>
/// The management page with security on (no anonymous access, API keys): an operator signs in in the browser (headless
/// Chromium) and acts only with admin rights.
/// </summary>
public sealed class ManagementLoginTests(ITestOutputHelper log)
{
    private const string AdminKey = "ui-admin-key-0123456789";
    private const string ReaderKey = "ui-reader-key-0123456789";
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Browser_signs_in_with_an_API_key_and_only_an_admin_may_create_topics_and_redrive()
    {
        HeadlessChromium.EnsureInstalled();
        using var data = new TempDirectory("ui-login");
        await using var silo = await SiloHostProcess.StartAsync(data.Path, SiloStorage.File,
            "--Gateway:Security:AllowAnonymous=false",
            $"--Gateway:Security:ApiKeys:0:Key={AdminKey}",
            "--Gateway:Security:ApiKeys:0:Principal=ops-admin",
            "--Gateway:Security:ApiKeys:0:Access:0=*:*:*",
            $"--Gateway:Security:ApiKeys:1:Key={ReaderKey}",
            "--Gateway:Security:ApiKeys:1:Principal=ops-reader",
            "--Gateway:Security:ApiKeys:1:Access:0=consume:topic:*",
            "--Dashboard:Enabled=false");
        using var http = await Http.ReadyClientAsync(silo.HttpPort);
        http.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);

        var topic = "ui-login-" + Guid.NewGuid().ToString("N")[..8];
        var dlqTopic = topic + "-dlq-src";
        var scripts = Path.Combine(BuildOutputs.RepoRoot, "tests", "OrleansMQ.SiloHost.Tests", "browser");
        await using var node = ChildProcess.StartProgram("management login in chromium", "node",
            [Path.Combine(scripts, "management-login.cjs"), $"http://127.0.0.1:{silo.HttpPort}", topic, dlqTopic, AdminKey, ReaderKey, HeadlessChromium.ScreenshotDirectory],
            scripts, HeadlessChromium.NodeEnvironment());
        var exit = await node.WaitForExitAsync(BrowserTimeout);
        var line = node.StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        Assert.True(exit == 0 && line is not null, $"{node.Describe()}\n{silo.Describe()}");
        var steps = JsonDocument.Parse(line!).RootElement.GetProperty("steps");
        string Step(string name) => steps.GetProperty(name).ToString();
        log.WriteLine(steps.ToString());

        Assert.Equal("/ui/login?returnUrl=%2Fui", Step("anonymousLanding"));
        Assert.Equal("/ui", Step("readerLanding"));
        Assert.Equal("ops-reader", Step("readerUser"));
        Assert.StartsWith("Forbidden:", Step("readerCreate"), StringComparison.Ordinal);
        Assert.Equal("/ui/login", Step("afterLogout"));
        Assert.Equal("1", Step("loginLinkAfterLogout"));
        Assert.Equal("ops-admin", Step("adminUser"));
        Assert.Equal($"Created topic {topic} with 1 partition(s).", Step("adminCreate"));
        Assert.Equal("Re-drove 1 message(s) of workers.", Step("adminRedrive"));

        // What the broker says: the topic exists (created by the admin only; the re-drive count above is the broker's).
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/topics/{topic}")).StatusCode);

        // Without a cookie or a key an action is still refused (and a key without admin rights gets the gateway's 403).
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = http.BaseAddress };
        var refused = await anonymous.PostAsync("/ui/actions/topics", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = topic + "-x" }));
        Assert.True(refused.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Redirect or HttpStatusCode.Unauthorized, $"{(int)refused.StatusCode}");
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/topics/{topic}-x")).StatusCode);
    }
}
