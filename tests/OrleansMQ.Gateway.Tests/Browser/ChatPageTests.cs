using System.Net.Http.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;
using OrleansMQ.Testing.Browser;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Gateway.Tests.Browser;

/// <summary>
/// silo-host's chat page (<c>/chat/</c>, STOMP over WebSocket with the vendored @stomp/stompjs) in Debian's headless
/// Chromium, driven by playwright-core from <c>tests/browser-node/chat-scenario.cjs</c>. Assertions read the DOM text;
/// the screenshots are kept under TestResults/screenshots.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ChatPageTests(GatewayFixture gateway)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task Two_pages_chat_in_a_room_and_a_third_sees_the_history_when_it_joins()
    {
        HeadlessChromium.EnsureInstalled();
        var room = Unique.Name("room");
        // History from another kind of client: a REST publish with the nick header (the shape client-sample's chat uses too).
        await gateway.CreateTopicAsync($"chat.{room}", new { partitions = 1 });
        (await gateway.Http.PostAsJsonAsync($"topics/chat.{room}/messages", new { text = "posted over REST before anyone joined", headers = new Dictionary<string, string> { ["nick"] = "dave" } }))
            .EnsureSuccessStatusCode();
        var result = await RunScenarioAsync(gateway, room);
        await AssertConversationAsync(result, room);
    }

    /// <summary>Runs tests/browser-node/chat-scenario.cjs against <paramref name="gateway"/>'s page; returns the JSON it prints.</summary>
    internal static async Task<System.Text.Json.JsonElement> RunScenarioAsync(GatewayFixture gateway, string room, params string[] extra)
    {
        HeadlessChromium.EnsureInstalled();
        var scripts = Path.Combine(BuildOutputs.RepoRoot, "tests", "browser-node");
        await using var node = ChildProcess.StartProgram("chat in chromium", "node",
            [Path.Combine(scripts, "chat-scenario.cjs"), "--url", $"http://127.0.0.1:{gateway.HttpPort}", "--room", room, "--screenshots", HeadlessChromium.ScreenshotDirectory, .. extra],
            scripts, HeadlessChromium.NodeEnvironment());
        var exitCode = await node.WaitForExitAsync(RunTimeout);
        var line = node.StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        Assert.True(exitCode == 0 && line is not null, $"{node.Describe()}\n{gateway.Describe()}");
        return System.Text.Json.JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary>What the three-page scenario must show: dave's REST message, then alice, bob and carol in order, on every page.</summary>
    internal static async Task AssertConversationAsync(System.Text.Json.JsonElement result, string room, Func<string, bool>? allowedPageError = null)
    {
        (string Nick, string Text)[] conversation = [("dave", "posted over REST before anyone joined"), ("alice", "Hello from alice"), ("bob", "Hi alice, bob here"), ("carol", "carol joined late")];
        foreach (var nick in new[] { "alice", "bob", "carol" })
        {
            var shown = result.GetProperty(nick).EnumerateArray().ToList();
            Assert.Equal(conversation, shown.Select(m => (m.GetProperty("nick").GetString()!, m.GetProperty("text").GetString()!)));
            Assert.All(shown, m => Assert.Matches(@"^\d{2}:\d{2}:\d{2}$", m.GetProperty("time").GetString()));
            Assert.Equal(conversation.Select(c => c.Nick == nick), shown.Select(m => m.GetProperty("mine").GetBoolean()));
        }

        Assert.Equal($"#{room} as carol", result.GetProperty("carolStatus").GetString());
        Assert.Equal($"#{room}", result.GetProperty("carolTitle").GetString());
        var pageErrors = result.GetProperty("pageErrors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.DoesNotContain(pageErrors, e => allowedPageError?.Invoke(e) != true);
        foreach (var screenshot in result.GetProperty("screenshots").EnumerateArray())
        {
            var bytes = await File.ReadAllBytesAsync(screenshot.GetString()!);
            Assert.True(bytes.Length > 1000 && bytes[..4].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }), $"{screenshot} is not a PNG");
        }
    }

    [Fact]
    public async Task The_page_and_its_vendored_stompjs_bundle_are_served()
    {
        var html = await gateway.Http.GetStringAsync("chat/");
        Assert.Contains("<script src=\"vendor/stomp.umd.min.js\"></script>", html);
        Assert.Contains("id=\"messages\"", html);

        var served = await gateway.Http.GetByteArrayAsync("chat/vendor/stomp.umd.min.js");
        var vendored = await File.ReadAllBytesAsync(Path.Combine(BuildOutputs.RepoRoot, "silo-host", "wwwroot", "chat", "vendor", "stomp.umd.min.js"));
        Assert.Equal(vendored, served);
    }

    [Fact]
    public async Task The_vendored_bundle_is_the_npm_package_file_of_the_pinned_version()
    {
        // scripts/vendor-stompjs.sh copies it from the npm package the gateway tests pin; this catches a hand edit or a
        // version bump without re-vendoring.
        var vendor = Path.Combine(BuildOutputs.RepoRoot, "silo-host", "wwwroot", "chat", "vendor");
        var package = Path.Combine(NodeStompClient.NodeModules, "@stomp", "stompjs");
        Assert.True(Directory.Exists(package), $"@stomp/stompjs is not installed in {NodeStompClient.NodeModules}: run ./scripts/test.sh");
        var version = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(package, "package.json"))).RootElement.GetProperty("version").GetString();

        Assert.Equal(version, (await File.ReadAllTextAsync(Path.Combine(vendor, "stompjs-VERSION.txt"))).Trim());
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(package, "bundles", "stomp.umd.min.js")), await File.ReadAllBytesAsync(Path.Combine(vendor, "stomp.umd.min.js")));
    }
}
