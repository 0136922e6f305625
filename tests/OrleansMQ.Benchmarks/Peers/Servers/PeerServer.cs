using System.Diagnostics;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Peers.Servers;

/// <summary>A driver the server offers (a server can serve several rows, e.g. quorum and classic queues).</summary>
internal sealed record DriverVariant(string Name, Func<CancellationToken, Task<IBenchmarkDriver>> ConnectAsync);

/// <summary>A server could not be used; the report shows the reason on its rows.</summary>
internal sealed class PeerUnavailableException(string message) : Exception(message);

/// <summary>
/// A broker process this harness started itself on 127.0.0.1 (free ports, a fresh temporary data directory, its own
/// configuration; never the system service), sampled through <see cref="Sampler"/> and stopped by its PID.
/// </summary>
internal abstract class PeerServer : IAsyncDisposable
{
    /// <summary>How long a server may take to accept connections.</summary>
    protected static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly List<ChildProcess> _processes = [];
    private ProcessTreeSampler? _sampler;

    protected PeerServer(string name)
    {
        Name = name;
        DataDirectory = new TempDirectory($"omq-peer-{name.ToLowerInvariant().Replace(' ', '-')}");
    }

    /// <summary>"RabbitMQ", "Redis", ….</summary>
    public string Name { get; }

    /// <summary>The server's version as it reports it.</summary>
    public string Version { get; protected set; } = "?";

    public TempDirectory DataDirectory { get; }

    /// <summary>The broker's own process (sampled with its descendants).</summary>
    protected ChildProcess? Broker { get; set; }

    public ProcessTreeSampler Sampler => _sampler ??= new ProcessTreeSampler(Broker?.Id ?? throw new InvalidOperationException($"{Name} is not running."));

    public abstract IReadOnlyList<DriverVariant> Variants { get; }

    /// <summary>Describes the server for the report: version, command line settings that matter.</summary>
    public abstract string Describe();

    /// <summary>Finds a program on the PATH (or at an absolute path); null when absent.</summary>
    protected static string? FindProgram(string name)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/lib/rabbitmq/bin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    protected ChildProcess Start(string label, string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = ChildProcess.StartProgram(label, program, arguments, DataDirectory.Path, environment);
        _processes.Add(process);
        // Should the harness be torn down before DisposeAsync runs (Ctrl+C, a crash), do not leave the server behind.
        var pid = process.Id;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillIfRunning(pid, process);
        return process;
    }

    private static void KillIfRunning(int pid, ChildProcess process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            using var running = Process.GetProcessById(pid);
            running.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>Polls until <paramref name="ready"/> holds; fails early (with the output) when <paramref name="process"/> exits.</summary>
    protected static async Task WaitUntilAsync(ChildProcess process, Func<Task<bool>> ready, string what, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        while (!await ready())
        {
            if (process.HasExited)
            {
                throw new PeerUnavailableException($"{process.Name} exited before {what}.\n{process.Describe()}");
            }

            if (started.Elapsed > StartTimeout)
            {
                throw new PeerUnavailableException($"{process.Name}: not {what} within {StartTimeout.TotalSeconds:0} s.\n{process.Describe()}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Runs a short command and returns its stdout (for versions); empty on failure.</summary>
    protected static async Task<string> RunForOutputAsync(string program, params string[] arguments)
    {
        try
        {
            await using var process = ChildProcess.StartProgram(Path.GetFileName(program), program, arguments, Path.GetTempPath());
            await process.WaitForExitAsync(TimeSpan.FromSeconds(20));
            return string.Join('\n', process.StdoutLines.Concat(process.StderrLines)).Trim();
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "";
        }
    }

    /// <summary>Stops what the subclass started beyond <see cref="Start"/> (clients, other process wrappers); runs first on dispose.</summary>
    protected virtual ValueTask OnStoppingAsync() => ValueTask.CompletedTask;

    /// <summary>Stops the sampler, kills every process this server started (newest first, by PID) and deletes the data directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await OnStoppingAsync();
        if (_sampler is not null)
        {
            await _sampler.DisposeAsync();
        }

        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            await _processes[i].DisposeAsync();
        }

        DataDirectory.Dispose();
        GC.SuppressFinalize(this);
    }
}
