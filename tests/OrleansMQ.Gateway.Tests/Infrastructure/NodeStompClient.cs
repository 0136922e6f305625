using System.Text.Json;
using OrleansMQ.SiloHost.Tests.Processes;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// Runs <c>node/stomp-scenarios.cjs</c>: the third-party STOMP client @stomp/stompjs (TCP via @stomp/tcp-wrapper,
/// WebSocket via ws) against the fixture's gateway. The npm packages are installed by scripts/test.sh into
/// <c>.tools/gateway-node</c> (or <c>OMQ_GATEWAY_NODE_MODULES</c> points at a node_modules folder).
/// </summary>
internal static class NodeStompClient
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public static string NodeModules =>
        Environment.GetEnvironmentVariable("OMQ_GATEWAY_NODE_MODULES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(BuildOutputs.RepoRoot, ".tools", "gateway-node", "node_modules");

    /// <summary>Runs a scenario and returns the JSON line it printed; throws with the script's output when it fails.</summary>
    public static async Task<JsonElement> RunAsync(GatewayFixture gateway, string scenario, string transport, params string[] arguments)
    {
        if (!Directory.Exists(Path.Combine(NodeModules, "@stomp", "stompjs")))
        {
            throw new InvalidOperationException($"@stomp/stompjs is not installed in {NodeModules}: run ./scripts/test.sh (it runs npm ci there) or set OMQ_GATEWAY_NODE_MODULES.");
        }

        var scripts = Path.Combine(BuildOutputs.RepoRoot, "tests", "OrleansMQ.Gateway.Tests", "node");
        await using var node = ChildProcess.StartProgram($"stompjs {scenario} over {transport}", "node",
            [Path.Combine(scripts, "stomp-scenarios.cjs"), scenario, "--transport", transport, "--http", Invariant(gateway.HttpPort), "--stomp", Invariant(gateway.StompPort), .. arguments],
            scripts, new Dictionary<string, string> { ["NODE_PATH"] = NodeModules });
        var exitCode = await node.WaitForExitAsync(RunTimeout);
        var line = node.StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        if (exitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"{node.Describe()}\n{gateway.Describe()}");
        }

        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
