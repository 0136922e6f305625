using System.Text.Json;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// Runs <c>node/ws-stream-scenarios.cjs</c>: the third-party WebSocket client <c>ws</c> (from npm, installed with the
/// STOMP clients into <c>.tools/gateway-node</c> by scripts/test.sh) speaking the gateway's streaming consume protocol.
/// </summary>
internal static class NodeWebSocketStreamClient
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Runs a scenario and returns the JSON line it printed; throws with the script's and the silo's output when it fails.</summary>
    public static async Task<JsonElement> RunAsync(GatewayFixture gateway, string scenario, params string[] arguments)
    {
        if (!Directory.Exists(Path.Combine(NodeStompClient.NodeModules, "ws")))
        {
            throw new InvalidOperationException($"ws is not installed in {NodeStompClient.NodeModules}: run ./scripts/test.sh (it runs npm ci there) or set OMQ_GATEWAY_NODE_MODULES.");
        }

        var scripts = Path.Combine(BuildOutputs.RepoRoot, "tests", "OrleansMQ.Gateway.Tests", "node");
        await using var node = ChildProcess.StartProgram($"ws stream {scenario}", "node",
            [Path.Combine(scripts, "ws-stream-scenarios.cjs"), scenario, "--http", gateway.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments],
            scripts, new Dictionary<string, string> { ["NODE_PATH"] = NodeStompClient.NodeModules });
        var exitCode = await node.WaitForExitAsync(RunTimeout);
        var line = node.StdoutLines.LastOrDefault(l => l.StartsWith('{'));
        if (exitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"{node.Describe()}\n{gateway.Describe()}");
        }

        return JsonDocument.Parse(line).RootElement.Clone();
    }
}
