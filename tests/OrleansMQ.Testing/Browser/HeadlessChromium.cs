using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Testing.Browser;

/// <summary>
/// Where the browser tests find Debian's Chromium and playwright-core. scripts/test.sh installs both (apt-get's
/// <c>chromium</c>, npm ci of <c>tests/browser-node</c> into <c>.tools/browser-node</c>) and exports
/// <c>OMQ_CHROMIUM</c> / <c>OMQ_BROWSER_NODE_MODULES</c>; without them the defaults below apply.
/// A Node script started with <see cref="NodeEnvironment"/> does <c>require('playwright-core').chromium.launch({
/// executablePath: process.env.OMQ_CHROMIUM, args: JSON.parse(process.env.OMQ_CHROMIUM_ARGS) })</c>.
/// </summary>
public static class HeadlessChromium
{
    /// <summary>
    /// Flags for Chromium on this machine: headless as root with no sandbox, and no background networking (the closed
    /// network refuses Google's hosts, many connections at a time, otherwise). Playwright adds --headless and its own
    /// --user-data-dir.
    /// </summary>
    public static IReadOnlyList<string> Args { get; } =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("OMQ_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    public static string NodeModules =>
        Environment.GetEnvironmentVariable("OMQ_BROWSER_NODE_MODULES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(BuildOutputs.RepoRoot, ".tools", "browser-node", "node_modules");

    /// <summary>Where tests save screenshots (kept as artifacts): <c>TestResults/screenshots</c> under the repository.</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var directory = Path.Combine(BuildOutputs.RepoRoot, "TestResults", "screenshots");
            Directory.CreateDirectory(directory);
            return directory;
        }
    }

    /// <summary>Throws with the command that installs them when Chromium or playwright-core is missing.</summary>
    public static void EnsureInstalled()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"Chromium is not installed at {ExecutablePath}: run ./scripts/test.sh (it apt-get installs chromium) or set OMQ_CHROMIUM.");
        }

        if (!Directory.Exists(Path.Combine(NodeModules, "playwright-core")))
        {
            throw new InvalidOperationException($"playwright-core is not installed in {NodeModules}: run ./scripts/test.sh (it runs npm ci there) or set OMQ_BROWSER_NODE_MODULES.");
        }
    }

    /// <summary>Environment for a Node script that drives the browser: NODE_PATH, OMQ_CHROMIUM, OMQ_CHROMIUM_ARGS (JSON array).</summary>
    public static Dictionary<string, string> NodeEnvironment() => new()
    {
        ["NODE_PATH"] = NodeModules,
        ["OMQ_CHROMIUM"] = ExecutablePath,
        ["OMQ_CHROMIUM_ARGS"] = System.Text.Json.JsonSerializer.Serialize(Args),
    };
}
