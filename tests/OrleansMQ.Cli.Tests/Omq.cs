using System.Globalization;
using System.Text.Json;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Cli.Tests;

/// <summary>Runs the built <c>omq</c> (<c>dotnet omq.dll …</c>) as a child process against a gateway port.</summary>
internal sealed class Omq(int gatewayPort, ITestOutputHelper log, Func<string>? describeBroker = null)
{
    /// <summary>How long one omq run may take before it is killed.</summary>
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs <c>omq --gateway PORT <paramref name="arguments"/></c> to completion.</summary>
    public Task<OmqResult> RunAsync(params string[] arguments) => RunWithInputAsync(null, arguments);

    /// <summary>As <see cref="RunAsync"/>, with <paramref name="standardInput"/> on stdin.</summary>
    public async Task<OmqResult> RunWithInputAsync(string? standardInput, params string[] arguments)
    {
        await using var process = Start(arguments, standardInput);
        await process.WaitForExitAsync(RunTimeout);
        var result = new OmqResult(arguments, process.ExitCode, process.StdoutLines, process.StderrLines, process.Elapsed, process.Describe() + Broker());
        log.WriteLine($"omq {string.Join(' ', arguments)} → exit {result.ExitCode} in {result.Elapsed.TotalSeconds:0.00} s");
        return result;
    }

    /// <summary>Starts omq and returns at once (the caller disposes the process).</summary>
    public ChildProcess Start(string[] arguments, string? standardInput = null) =>
        ChildProcess.Start($"omq {string.Join(' ', arguments)}", BuildOutputs.CliDll,
            ["--gateway", gatewayPort.ToString(CultureInfo.InvariantCulture), .. ConnectTimeout(arguments), .. arguments], standardInput);

    // omq's 10 s default is too short on a loaded 2-core machine with several omq processes starting at once; a test
    // that is about the timeout passes its own.
    private static string[] ConnectTimeout(string[] arguments) =>
        arguments.Contains("--connect-timeout") ? [] : ["--connect-timeout", "60s"];

    /// <summary>Awaits independent runs started together (omq start-up dominates a run, so they overlap well).</summary>
    public static async Task<(OmqResult, OmqResult)> AllAsync(Task<OmqResult> a, Task<OmqResult> b)
    {
        await Task.WhenAll(a, b);
        return (await a, await b);
    }

    /// <inheritdoc cref="AllAsync(Task{OmqResult}, Task{OmqResult})"/>
    public static async Task<(OmqResult, OmqResult, OmqResult)> AllAsync(Task<OmqResult> a, Task<OmqResult> b, Task<OmqResult> c)
    {
        await Task.WhenAll(a, b, c);
        return (await a, await b, await c);
    }

    /// <inheritdoc cref="AllAsync(Task{OmqResult}, Task{OmqResult})"/>
    public static async Task<(OmqResult, OmqResult, OmqResult, OmqResult)> AllAsync(Task<OmqResult> a, Task<OmqResult> b, Task<OmqResult> c, Task<OmqResult> d)
    {
        await Task.WhenAll(a, b, c, d);
        return (await a, await b, await c, await d);
    }

    private string Broker() => describeBroker is null ? "" : "\n" + describeBroker();
}

/// <summary>What one omq run did: exit code, output, and a description (its output and the broker's) for assertion messages.</summary>
internal sealed record OmqResult(string[] Arguments, int ExitCode, IReadOnlyList<string> Stdout, IReadOnlyList<string> Stderr, TimeSpan Elapsed, string Description)
{
    /// <summary>Asserts exit code 0 and returns this.</summary>
    public OmqResult Succeeded()
    {
        Assert.True(ExitCode == 0, $"omq {string.Join(' ', Arguments)} should exit 0.\n{Description}");
        return this;
    }

    /// <summary>Asserts the exit code and that stderr contains <paramref name="stderrContains"/>.</summary>
    public OmqResult Failed(int exitCode, string stderrContains)
    {
        Assert.True(ExitCode == exitCode && string.Join('\n', Stderr).Contains(stderrContains, StringComparison.Ordinal),
            $"omq {string.Join(' ', Arguments)} should exit {exitCode} with \"{stderrContains}\" on stderr.\n{Description}");
        return this;
    }

    /// <summary>Stdout as one JSON document.</summary>
    public JsonElement Json()
    {
        try
        {
            using var document = JsonDocument.Parse(string.Join('\n', Stdout));
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"omq {string.Join(' ', Arguments)} did not print one JSON document: {ex.Message}\n{Description}");
        }
    }

    /// <summary>Stdout as JSON lines, one value per line.</summary>
    public IReadOnlyList<JsonElement> JsonLines()
    {
        try
        {
            return [.. Stdout.Where(l => l.Length > 0).Select(l =>
            {
                using var document = JsonDocument.Parse(l);
                return document.RootElement.Clone();
            })];
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"omq {string.Join(' ', Arguments)} did not print JSON lines: {ex.Message}\n{Description}");
        }
    }
}
