using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>
/// A real Azurite (the Azure Storage emulator) for the tests of one collection: started from <c>$OMQ_AZURITE_BIN</c> (set by
/// <c>scripts/test.sh</c>; when it is missing, the fixture runs the same pinned npm install into <c>.tools/azurite</c>)
/// on free loopback ports with a fresh data folder, and stopped by the process id it started (then the folder is deleted).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The pinned Azurite version (the same as <c>scripts/test.sh</c> and <c>azurite-compose.yml</c>).</summary>
    public const string Version = "3.37.0";

    /// <summary>The emulator's well-known account name.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's well-known account key (public, documented by Microsoft; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _location;
    private (int Blob, int Queue, int Table)? _ports;

    /// <summary>A connection string for the running emulator (explicit endpoints: <c>UseDevelopmentStorage</c> assumes the default ports).</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The blob service port.</summary>
    public int BlobPort { get; private set; }

    public async Task InitializeAsync()
    {
        var bin = await FindOrInstallAsync();
        // Free ports are probed, then released and handed to Azurite: another process can take one in between, so a
        // start that fails is retried on new ports.
        Exception? last = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try
            {
                await StartAsync(bin);
                return;
            }
            catch (Exception ex) when (attempt < 3)
            {
                last = ex;
                await StopAsync();
            }
        }

        throw new InvalidOperationException("Azurite did not start.", last);
    }

    public Task DisposeAsync() => StopAsync();

    /// <summary>
    /// Kills the emulator by the process id this fixture started (its data folder and ports are kept, so
    /// <see cref="StartAgainAsync"/> brings the same storage back). For outage tests; use a fixture of your own for them.
    /// </summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("Azurite is not running.");
        _process = null;
        try
        {
            process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(wait.Token);
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Starts the emulator again after <see cref="KillAsync"/>, on the same ports and data folder.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is not null || _location is null || _ports is not { } ports)
        {
            throw new InvalidOperationException("Azurite was not started and killed by this fixture.");
        }

        await StartAsync(await FindOrInstallAsync(), _location, ports);
    }

    private Task StartAsync(string bin)
    {
        var location = Path.Combine(Path.GetTempPath(), "orleansmq-azurite", Guid.NewGuid().ToString("N"));
        _location = location;
        Directory.CreateDirectory(location);
        return StartAsync(bin, location, (FreePort(), FreePort(), FreePort()));
    }

    private async Task StartAsync(string bin, string location, (int Blob, int Queue, int Table) ports)
    {
        var (blob, queue, table) = ports;
        _ports = ports;
        var start = new ProcessStartInfo(bin)
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

        lock (_output)
        {
            _output.Clear();
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{bin}'.");
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        foreach (var port in new[] { blob, queue, table })
        {
            while (!await RespondsAsync(http, port))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} while starting:\n{Output()}");
                }

                if (deadline.Elapsed > StartTimeout)
                {
                    throw new TimeoutException($"Azurite did not answer on port {port} within {StartTimeout.TotalSeconds} s:\n{Output()}");
                }

                await Task.Delay(50);
            }
        }

        BlobPort = blob;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
            + $"BlobEndpoint=http://127.0.0.1:{blob}/{AccountName};"
            + $"QueueEndpoint=http://127.0.0.1:{queue}/{AccountName};"
            + $"TableEndpoint=http://127.0.0.1:{table}/{AccountName};";
    }

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(wait.Token);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
                // Already gone, or refuses to die: nothing more a test can do; the folder is still removed below.
            }
            finally
            {
                process.Dispose();
            }
        }

        if (_location is { } location)
        {
            _location = null;
            try
            {
                Directory.Delete(location, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    // Any HTTP answer (Azurite replies 400/403 to an unauthenticated GET) means the service listens.
    private static async Task<bool> RespondsAsync(HttpClient http, int port)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{port}/{AccountName}?comp=list");
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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

    // $OMQ_AZURITE_BIN when scripts/test.sh set it; otherwise the same pinned install as ensure_azurite, so running the
    // tests from an IDE or a bare `dotnet test` never skips them.
    private static async Task<string> FindOrInstallAsync()
    {
        if (Environment.GetEnvironmentVariable("OMQ_AZURITE_BIN") is { Length: > 0 } fromScript)
        {
            if (!File.Exists(fromScript))
            {
                throw new FileNotFoundException($"OMQ_AZURITE_BIN points to '{fromScript}', which does not exist.", fromScript);
            }

            return fromScript;
        }

        var prefix = Path.Combine(FindRepositoryRoot(), ".tools", "azurite");
        var bin = Path.Combine(prefix, "node_modules", ".bin", "azurite");
        var manifest = Path.Combine(prefix, "node_modules", "azurite", "package.json");
        if (File.Exists(bin) && File.Exists(manifest) && (await File.ReadAllTextAsync(manifest)).Contains($"\"version\": \"{Version}\"", StringComparison.Ordinal))
        {
            return bin;
        }

        Directory.CreateDirectory(prefix);
        var install = new ProcessStartInfo("npm") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "install", "--prefix", prefix, $"azurite@{Version}", "--no-audit", "--no-fund" })
        {
            install.ArgumentList.Add(arg);
        }

        using var npm = Process.Start(install) ?? throw new InvalidOperationException("Could not start npm to install Azurite.");
        var stdout = npm.StandardOutput.ReadToEndAsync();
        var stderr = npm.StandardError.ReadToEndAsync();
        await npm.WaitForExitAsync();
        if (npm.ExitCode != 0 || !File.Exists(bin))
        {
            throw new InvalidOperationException($"npm install azurite@{Version} failed (exit {npm.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return bin;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "OrleansMQ.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No OrleansMQ.sln above '{AppContext.BaseDirectory}'; set OMQ_AZURITE_BIN to an Azurite executable.");
    }
}

/// <summary>The tests that share one <see cref="AzuriteFixture"/> (they run one class at a time, in parallel with other collections).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
