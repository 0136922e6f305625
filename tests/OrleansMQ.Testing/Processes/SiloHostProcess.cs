using System.Diagnostics;

namespace OrleansMQ.Testing.Processes;

/// <summary>Which storage backends the silo host uses (its <c>--OrleansMQ:LogStorage</c> / <c>--OrleansMQ:StateStorage</c>).</summary>
public enum SiloStorage
{
    /// <summary>The silo host's default: file log and file state under the data directory.</summary>
    File,

    /// <summary>Process memory; lost when the process ends.</summary>
    InMemory,
}

/// <summary>
/// The real silo host (<c>dotnet omq-silo.dll</c>) as a child process on loopback ports and its own data directory.
/// It can be killed and started again on the same ports and data (<see cref="RestartAsync"/>); every generation's output
/// is kept for <see cref="Describe"/>. Disposing kills the running generation.
/// </summary>
public sealed class SiloHostProcess : IAsyncDisposable
{
    /// <summary>How long a silo may take until its gateway accepts connections.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly List<ChildProcess> _generations = [];
    private readonly IReadOnlyList<string> _extraArguments;
    private readonly IReadOnlyDictionary<string, string>? _environment;

    private SiloHostProcess(string dataDirectory, SiloStorage storage, int gatewayPort, int siloPort, int httpPort, int stompPort, IReadOnlyList<string> extraArguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        _environment = environment;
        DataDirectory = dataDirectory;
        Storage = storage;
        GatewayPort = gatewayPort;
        SiloPort = siloPort;
        HttpPort = httpPort;
        StompPort = stompPort;
        _extraArguments = extraArguments;
    }

    public string DataDirectory { get; }

    public SiloStorage Storage { get; }

    /// <summary>The Orleans gateway port on 127.0.0.1 that clients (omq-sample --gateway) connect to.</summary>
    public int GatewayPort { get; }

    public int SiloPort { get; }

    /// <summary>The OrleansMQ gateway's HTTP port on 127.0.0.1 (REST, OpenAPI, STOMP over WebSocket at /stomp).</summary>
    public int HttpPort { get; }

    /// <summary>The OrleansMQ gateway's STOMP over TCP port on 127.0.0.1.</summary>
    public int StompPort { get; }

    /// <summary>The running (or last) generation.</summary>
    public ChildProcess Current => _generations[^1];

    /// <summary>Every generation started so far, oldest first (the last one is <see cref="Current"/>).</summary>
    public IReadOnlyList<ChildProcess> Generations => _generations;

    /// <summary>How long the last start took until the gateway accepted a TCP connection.</summary>
    public TimeSpan LastStartDuration { get; private set; }

    /// <summary>
    /// Silo-host arguments for cluster mode on Azure Storage: Azure Table membership, and log and state in the storage
    /// account of <paramref name="connectionString"/> (Azurite) under the name prefix <paramref name="prefix"/>.
    /// </summary>
    public static string[] AzureClusterArguments(string connectionString, string prefix) =>
    [
        "--Cluster:Mode=AzureStorage",
        "--OrleansMQ:LogStorage=AzureStorage",
        "--OrleansMQ:StateStorage=AzureStorage",
        $"--OrleansMQ:AzureStorageConnectionString={connectionString}",
        $"--OrleansMQ:AzureNamePrefix={prefix}",
    ];

    /// <summary>
    /// Starts a silo host on four free loopback ports (Orleans gateway and silo, gateway HTTP and STOMP) and waits until
    /// its Orleans gateway accepts connections. <paramref name="extraArguments"/> go on its command line.
    /// </summary>
    public static Task<SiloHostProcess> StartAsync(string dataDirectory, SiloStorage storage, params string[] extraArguments) =>
        StartWithEnvironmentAsync(dataDirectory, storage, environment: null, extraArguments);

    /// <summary><see cref="StartAsync"/> with extra environment variables for the silo host (every generation gets them).</summary>
    public static async Task<SiloHostProcess> StartWithEnvironmentAsync(string dataDirectory, SiloStorage storage, IReadOnlyDictionary<string, string>? environment, params string[] extraArguments)
    {
        var ports = LoopbackPorts.Reserve(4);
        var silo = new SiloHostProcess(dataDirectory, storage, gatewayPort: ports[0], siloPort: ports[1], httpPort: ports[2], stompPort: ports[3], extraArguments, environment);
        try
        {
            await silo.StartGenerationAsync();
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing; whatever the storage did not make durable is gone.</summary>
    public Task KillAsync() => Current.KillAsync();

    /// <summary>SIGSTOP: the process freezes (no heartbeats, no I/O) until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync() => Current.SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() => Current.SignalAsync("CONT");

    /// <summary>
    /// SIGTERM, then waits up to <paramref name="timeout"/> for a graceful shutdown (the silo leaves the cluster and hands
    /// its grains over); kills it if it takes longer. Returns whether it exited on its own.
    /// </summary>
    public async Task<bool> StopGracefullyAsync(TimeSpan timeout)
    {
        if (Current.HasExited)
        {
            return true;
        }

        await Current.SignalAsync("TERM");
        try
        {
            await Current.WaitForExitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Starts a new generation on the same ports and data directory (killing the current one first if it still runs).</summary>
    public async Task RestartAsync()
    {
        if (!Current.HasExited)
        {
            await Current.KillAsync();
        }

        await StartGenerationAsync();
    }

    /// <summary>The output of every generation, oldest first, for assertion messages.</summary>
    public string Describe() => string.Join('\n', _generations.Select(g => g.Describe()));

    public async ValueTask DisposeAsync()
    {
        // Only the last generation can still run, but dispose every one (and all of them even if one throws).
        var failures = new List<Exception>();
        foreach (var generation in _generations)
        {
            try
            {
                await generation.DisposeAsync();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("Could not stop a silo host process.", failures);
        }
    }

    private async Task StartGenerationAsync()
    {
        var started = Stopwatch.StartNew();
        var process = ChildProcess.Start($"silo #{_generations.Count + 1}", BuildOutputs.SiloHostDll,
        [
            $"--OrleansMQ:DataDirectory={DataDirectory}",
            $"--OrleansMQ:LogStorage={Storage}",
            $"--OrleansMQ:StateStorage={Storage}",
            $"--Orleans:GatewayPort={GatewayPort}",
            $"--Orleans:SiloPort={SiloPort}",
            $"--Orleans:ClusterId=omq",
            $"--Gateway:HttpPort={HttpPort}",
            $"--Gateway:StompPort={StompPort}",
            // Polly logs every placement attempt at Information; keep the output a failure message dumps readable.
            "--Logging:LogLevel:Polly=Warning",
            .. _extraArguments,
        ], environment: _environment);
        _generations.Add(process);

        // Poll with a deadline: the gateway listens once the silo is up. A silo that dies on the way (bad config, port
        // taken) fails at once with its output instead of after the timeout.
        while (!await LoopbackPorts.AcceptsConnectionsAsync(GatewayPort))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The silo host exited before its gateway on 127.0.0.1:{GatewayPort} accepted connections.\n{process.Describe()}");
            }

            if (started.Elapsed > StartTimeout)
            {
                await process.KillAsync();
                throw new TimeoutException($"The silo host's gateway on 127.0.0.1:{GatewayPort} did not accept connections within {StartTimeout.TotalSeconds:0} s; killed it.\n{process.Describe()}");
            }

            await Task.Delay(100);
        }

        LastStartDuration = started.Elapsed;
    }
}
