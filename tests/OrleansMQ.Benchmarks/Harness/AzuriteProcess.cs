using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// A private Azurite (the Azure Storage emulator) for one run: <c>$OMQ_AZURITE_BIN</c> or the repository's
/// <c>.tools/azurite</c> install (the one <c>scripts/test.sh</c> makes), on free loopback ports with a fresh data folder,
/// stopped by the process id it started and the folder deleted at the end. Start and stop are bounded.
/// </summary>
internal sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The version <c>scripts/test.sh</c> pins.</summary>
    public const string PinnedVersion = "3.37.0";

    /// <summary>The emulator's well-known account name.</summary>
    private const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's well-known account key (public, documented by Microsoft; not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly string _location;
    private int _stopped;

    private AzuriteProcess(Process process, string location, string executable, int blobPort, int tablePort)
    {
        _process = process;
        _location = location;
        Executable = executable;
        BlobPort = blobPort;
        TablePort = tablePort;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
            + $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};"
            + $"TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};";

        // If the run is torn down without DisposeAsync (Ctrl+C past the grace period), still stop the emulator we started.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>A connection string for the emulator (explicit endpoints: <c>UseDevelopmentStorage</c> assumes the default ports).</summary>
    public string ConnectionString { get; }

    public string Executable { get; }

    public int Pid => _process.Id;

    public int BlobPort { get; }

    public int TablePort { get; }

    public string Location => _location;

    /// <summary>CPU time the emulator has used so far (it is another process: the machine-load row must not count it as foreign).</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            _process.Refresh();
            return _process.HasExited ? TimeSpan.Zero : _process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Starts Azurite, retrying on new ports when one was taken between probing and binding.</summary>
    public static async Task<AzuriteProcess> StartAsync(CancellationToken cancellationToken)
    {
        var executable = FindExecutable();
        Exception? last = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try
            {
                return await StartOnceAsync(executable, cancellationToken);
            }
            catch (Exception ex) when (attempt < 3 && ex is not OperationCanceledException)
            {
                last = ex;
            }
        }

        throw new HarnessSetupException($"Azurite ({executable}) did not start in 3 attempts: {last?.Message}", last);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        await StopAsync(_process, _location);
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            Kill(_process);
        }
    }

    private static async Task<AzuriteProcess> StartOnceAsync(string executable, CancellationToken cancellationToken)
    {
        var location = Path.Combine(Path.GetTempPath(), "omq-bench-azurite", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(location);
        var (blob, queue, table) = FreeLoopbackPorts();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--location", location,
            "--blobHost", "127.0.0.1", "--blobPort", $"{blob}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{queue}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
            "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{executable}'.");
        }
        catch
        {
            DeleteDirectory(location);
            throw;
        }

        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var deadline = Stopwatch.StartNew();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            foreach (var port in new[] { blob, queue, table })
            {
                while (!await RespondsAsync(http, port, cancellationToken))
                {
                    if (process.HasExited)
                    {
                        throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} while starting:\n{Text(output)}");
                    }

                    if (deadline.Elapsed > StartTimeout)
                    {
                        throw new TimeoutException($"Azurite did not answer on port {port} within {StartTimeout.TotalSeconds} s:\n{Text(output)}");
                    }

                    await Task.Delay(50, cancellationToken);
                }
            }
        }
        catch
        {
            await StopAsync(process, location);
            throw;
        }

        return new AzuriteProcess(process, location, executable, blob, table);
    }

    private static async Task StopAsync(Process process, string location)
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

        DeleteDirectory(location);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                // The tree of the process this harness started, by its id; nothing else.
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not delete the Azurite folder {path}: {ex.Message}");
        }
    }

    /// <summary>$OMQ_AZURITE_BIN, else <c>.tools/azurite/node_modules/.bin/azurite</c> above the working directory or the harness binary.</summary>
    private static string FindExecutable()
    {
        if (Environment.GetEnvironmentVariable("OMQ_AZURITE_BIN") is { Length: > 0 } fromEnvironment)
        {
            return File.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new HarnessSetupException($"OMQ_AZURITE_BIN points to '{fromEnvironment}', which does not exist.");
        }

        var searched = new List<string>();
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "OrleansMQ.sln")))
                {
                    var bin = Path.Combine(directory.FullName, ".tools", "azurite", "node_modules", ".bin", "azurite");
                    if (File.Exists(bin))
                    {
                        return bin;
                    }

                    searched.Add(bin);
                    break;
                }
            }
        }

        throw new HarnessSetupException(
            "--storage azure needs an Azure Storage account, and none was given: Azurite is not installed"
            + (searched.Count > 0 ? $" (looked for {string.Join(" and ", searched.Distinct())})" : " (no OrleansMQ.sln above the working directory)") + ". "
            + $"Install it with `npm install --prefix .tools/azurite azurite@{PinnedVersion} --no-audit --no-fund` in the repository root "
            + "(./scripts/test.sh does the same), set OMQ_AZURITE_BIN to an azurite executable, "
            + "or pass --azure-connection-string / set OMQ_AZURE_CONNECTION_STRING.");
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

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 64 * 1024)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}

/// <summary>Something the run needs is missing or would not start; the harness prints the message and exits with code 2.</summary>
internal sealed class HarnessSetupException(string message, Exception? inner = null) : Exception(message, inner);
