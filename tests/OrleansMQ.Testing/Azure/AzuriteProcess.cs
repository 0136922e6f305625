using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansMQ.Testing.Azure;

/// <summary>
/// A private Azurite (the Azure Storage emulator) on free loopback ports with a fresh data folder: stopped by the process
/// id it started, and the folder deleted, on dispose (or killed at process exit if nobody disposed it). Start and stop
/// are bounded. Shared by the test fixture, the fault harness and the benchmark harness.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The version <c>scripts/test.sh</c> pins (and <see cref="FindOrInstallAsync"/> installs).</summary>
    public const string PinnedVersion = "3.37.0";

    /// <summary>The emulator's well-known account name.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's well-known account key (public, documented by Microsoft; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly (int Blob, int Queue, int Table) _ports;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _disposed;

    private AzuriteProcess(string executable, string location, (int Blob, int Queue, int Table) ports)
    {
        Executable = executable;
        Location = location;
        _ports = ports;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
            + $"BlobEndpoint=http://127.0.0.1:{ports.Blob}/{AccountName};"
            + $"QueueEndpoint=http://127.0.0.1:{ports.Queue}/{AccountName};"
            + $"TableEndpoint=http://127.0.0.1:{ports.Table}/{AccountName};";
    }

    /// <summary>A connection string for the emulator (explicit endpoints: <c>UseDevelopmentStorage</c> assumes the default ports).</summary>
    public string ConnectionString { get; }

    /// <summary>The Azurite executable.</summary>
    public string Executable { get; }

    /// <summary>The emulator's data folder.</summary>
    public string Location { get; }

    /// <summary>The blob service port.</summary>
    public int BlobPort => _ports.Blob;

    /// <summary>The table service port.</summary>
    public int TablePort => _ports.Table;

    /// <summary>The emulator's process id (0 while it is killed).</summary>
    public int Pid => _process?.Id ?? 0;

    /// <summary>
    /// Starts Azurite from <paramref name="executable"/> with a data folder under the temp directory's
    /// <paramref name="folder"/>, retrying on new ports when one was taken between probing and binding.
    /// </summary>
    public static async Task<AzuriteProcess> StartAsync(string executable, string folder, CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var location = Path.Combine(Path.GetTempPath(), folder, Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(location);
            var azurite = new AzuriteProcess(executable, location, FreeLoopbackPorts());
            try
            {
                await azurite.RunAsync(cancellationToken);
                AppDomain.CurrentDomain.ProcessExit += azurite.OnProcessExit;
                return azurite;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                last = ex;
                await azurite.StopAsync(deleteData: true);
            }
            catch
            {
                await azurite.StopAsync(deleteData: true);
                throw;
            }
        }

        throw new InvalidOperationException($"Azurite ({executable}) did not start in 3 attempts: {last?.Message}", last);
    }

    /// <summary>CPU time the emulator has used so far (zero once it exited).</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            if (_process is not { } process)
            {
                return TimeSpan.Zero;
            }

            process.Refresh();
            return process.HasExited ? TimeSpan.Zero : process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Kills the emulator by the process id this started (its data folder and ports are kept, so
    /// <see cref="StartAgainAsync"/> brings the same storage back): for storage outage tests.
    /// </summary>
    public Task KillAsync() => _process is null ? throw new InvalidOperationException("Azurite is not running.") : StopAsync(deleteData: false);

    /// <summary>Starts the emulator again after <see cref="KillAsync"/>, on the same ports and data folder.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) =>
        _process is not null || Volatile.Read(ref _disposed) != 0
            ? throw new InvalidOperationException("Azurite is running, or was disposed.")
            : RunAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            await StopAsync(deleteData: true);
        }
    }

    /// <summary>
    /// <c>$OMQ_AZURITE_BIN</c>, else the repository's <c>.tools/azurite</c> install (the one <c>scripts/test.sh</c> makes)
    /// above the working directory or this binary; null when neither is there, with the paths looked at.
    /// </summary>
    /// <exception cref="FileNotFoundException"><c>OMQ_AZURITE_BIN</c> names a file that does not exist.</exception>
    public static string? FindInstalled(out IReadOnlyList<string> searched)
    {
        searched = [];
        if (Environment.GetEnvironmentVariable("OMQ_AZURITE_BIN") is { Length: > 0 } fromEnvironment)
        {
            return File.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new FileNotFoundException($"OMQ_AZURITE_BIN points to '{fromEnvironment}', which does not exist.", fromEnvironment);
        }

        var looked = new List<string>();
        foreach (var root in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory }.Select(FindRepositoryRoot).OfType<string>().Distinct())
        {
            var bin = InstallPath(root);
            if (File.Exists(bin))
            {
                return bin;
            }

            looked.Add(bin);
        }

        searched = looked;
        return null;
    }

    /// <summary>
    /// <c>$OMQ_AZURITE_BIN</c>, else the pinned version in the repository's <c>.tools/azurite</c>, installed there from npm
    /// when missing (as <c>scripts/test.sh</c> does), so running the tests from an IDE or a bare <c>dotnet test</c> never
    /// skips them.
    /// </summary>
    public static async Task<string> FindOrInstallAsync()
    {
        if (Environment.GetEnvironmentVariable("OMQ_AZURITE_BIN") is { Length: > 0 })
        {
            return FindInstalled(out _)!;
        }

        var root = FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException($"No OrleansMQ.sln above '{AppContext.BaseDirectory}'; set OMQ_AZURITE_BIN to an Azurite executable.");
        var prefix = Path.Combine(root, ".tools", "azurite");
        var bin = InstallPath(root);
        var manifest = Path.Combine(prefix, "node_modules", "azurite", "package.json");
        if (File.Exists(bin) && File.Exists(manifest) && (await File.ReadAllTextAsync(manifest)).Contains($"\"version\": \"{PinnedVersion}\"", StringComparison.Ordinal))
        {
            return bin;
        }

        Directory.CreateDirectory(prefix);
        var install = new ProcessStartInfo("npm") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "install", "--prefix", prefix, $"azurite@{PinnedVersion}", "--no-audit", "--no-fund" })
        {
            install.ArgumentList.Add(arg);
        }

        using var npm = Process.Start(install) ?? throw new InvalidOperationException("Could not start npm to install Azurite.");
        var stdout = npm.StandardOutput.ReadToEndAsync();
        var stderr = npm.StandardError.ReadToEndAsync();
        await npm.WaitForExitAsync();
        if (npm.ExitCode != 0 || !File.Exists(bin))
        {
            throw new InvalidOperationException($"npm install azurite@{PinnedVersion} failed (exit {npm.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return bin;
    }

    private static string InstallPath(string repositoryRoot) => Path.Combine(repositoryRoot, ".tools", "azurite", "node_modules", ".bin", "azurite");

    private static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "OrleansMQ.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var (blob, queue, table) = _ports;
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--location", Location,
            "--blobHost", "127.0.0.1", "--blobPort", $"{blob}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{queue}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
            "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent",
        })
        {
            start.ArgumentList.Add(arg);
        }

        lock (_output)
        {
            _output.Clear();
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{Executable}'.");
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        foreach (var port in new[] { blob, queue, table })
        {
            while (!await RespondsAsync(http, port, cancellationToken))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} while starting:\n{Output()}");
                }

                if (deadline.Elapsed > StartTimeout)
                {
                    throw new TimeoutException($"Azurite did not answer on port {port} within {StartTimeout.TotalSeconds} s:\n{Output()}");
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private async Task StopAsync(bool deleteData)
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            try
            {
                Kill(process);
                using var wait = new CancellationTokenSource(StopTimeout);
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"warning: Azurite (pid {process.Id}) did not exit within {StopTimeout.TotalSeconds} s of being killed.");
            }
            finally
            {
                process.Dispose();
            }
        }

        if (deleteData)
        {
            try
            {
                Directory.Delete(Location, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"warning: could not delete the Azurite folder {Location}: {ex.Message}");
            }
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _process is { } process)
        {
            Kill(process);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                // The tree of the process this started, by its id; nothing else.
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    // Any HTTP answer (Azurite replies 400/403 to an unauthenticated GET) means the service listens.
    private static async Task<bool> RespondsAsync(HttpClient http, int port, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{port}/{AccountName}?comp=list", cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Three distinct free TCP ports on 127.0.0.1 (all held open while they are chosen).</summary>
    private static (int, int, int) FreeLoopbackPorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return (ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }
}
