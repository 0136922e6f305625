using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// One silo (its own generic host, localhost clustering on free loopback ports, the broker under a fresh temporary data
/// directory) and one Orleans client (a second host in the same process) that reaches the silo through its gateway over
/// 127.0.0.1, so every publish and receive takes the real client path: serialization, TCP, gateway, grain call.
/// </summary>
internal sealed class BrokerUnderTest : IAsyncDisposable
{
    private const string ServiceId = "omq-bench";

    private readonly IHost _silo;
    private readonly IHost _client;

    private BrokerUnderTest(IHost silo, IHost client, string dataDirectory, int siloPort, int gatewayPort, GrainCallStats? calls, GrainCallStats? clientCalls, LogAppendStats? appends, WarningLog warnings)
    {
        _silo = silo;
        _client = client;
        DataDirectory = dataDirectory;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        Calls = calls;
        ClientCalls = clientCalls;
        Appends = appends;
        Warnings = warnings;
    }

    public IOrleansMQClient Client => _client.Services.GetRequiredService<IOrleansMQClient>();

    public string DataDirectory { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    /// <summary>Silo-side grain call counts; null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public GrainCallStats? Calls { get; }

    /// <summary>Client-side grain call counts and round trips; null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public GrainCallStats? ClientCalls { get; }

    /// <summary>Log append counts and durable-append times; null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public LogAppendStats? Appends { get; }

    public WarningLog Warnings { get; }

    /// <summary>How the storage is set up, for the configuration printout.</summary>
    public static string DescribeStorage(BenchmarkSettings settings) => settings.Storage switch
    {
        StorageOption.Memory => "in-memory log + in-memory grain state (not durable; fsync n/a)",
        _ => $"file segment log (fsync {settings.Fsync.ToString().ToLowerInvariant()}) + file grain state (fsync always)",
    };

    public static async Task<BrokerUnderTest> StartAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "omq-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var (siloPort, gatewayPort) = FreeLoopbackPorts();
        var warnings = new WarningLog();
        var calls = settings.SiloStats ? new GrainCallStats() : null;
        var clientCalls = settings.SiloStats ? new GrainCallStats() : null;
        var appends = settings.SiloStats ? new LogAppendStats() : null;

        var siloBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dataDirectory });
        QuietLogging(siloBuilder.Logging, warnings, "silo");
        siloBuilder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: ServiceId, clusterId: ServiceId);
            silo.AddOrleansMQ(o =>
            {
                o.DataDirectory = dataDirectory;
                ConfigureStorage(o, settings);
            });
            if (calls is not null)
            {
                silo.AddIncomingGrainCallFilter(calls);
            }

            if (appends is not null)
            {
                MeasuredMessageLogFactory.Decorate(silo.Services, appends);
            }
        });
        var silo = siloBuilder.Build();

        var clientBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dataDirectory });
        QuietLogging(clientBuilder.Logging, warnings, "client");
        clientBuilder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(gatewayPort, serviceId: ServiceId, clusterId: ServiceId);
            if (clientCalls is not null)
            {
                client.AddOutgoingGrainCallFilter(clientCalls);
            }
        });
        clientBuilder.Services.AddOrleansMQClient();
        var client = clientBuilder.Build();

        try
        {
            await silo.StartAsync(cancellationToken);
            await client.StartAsync(cancellationToken);
        }
        catch
        {
            await StopAsync(client, silo);
            DeleteDirectory(dataDirectory);
            throw;
        }

        return new BrokerUnderTest(silo, client, dataDirectory, siloPort, gatewayPort, calls, clientCalls, appends, warnings);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_client, _silo);
        DeleteDirectory(DataDirectory);
    }

    private static void ConfigureStorage(OrleansMQServerOptions options, BenchmarkSettings settings)
    {
        switch (settings.Storage)
        {
            case StorageOption.Memory:
                options.LogStorage = LogStorageKind.InMemory;
                options.StateStorage = LogStorageKind.InMemory;
                break;
            default:
                options.LogStorage = LogStorageKind.File;
                options.StateStorage = LogStorageKind.File;
                options.Fsync = settings.Fsync == FsyncOption.Never ? FsyncPolicy.Never : FsyncPolicy.Always;
                break;
        }
    }

    private static void QuietLogging(ILoggingBuilder logging, WarningLog warnings, string source)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddProvider(warnings.CreateProvider(source));
    }

    private static async Task StopAsync(IHost client, IHost silo)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await client.StopAsync(timeout.Token);
        }
        finally
        {
            client.Dispose();
            try
            {
                await silo.StopAsync(timeout.Token);
            }
            finally
            {
                silo.Dispose();
            }
        }
    }

    private static void DeleteDirectory(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 3)
            {
                Thread.Sleep(200);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"warning: could not delete the data directory {path}: {ex.Message}");
                return;
            }
        }
    }

    /// <summary>Two distinct free TCP ports on 127.0.0.1 (both held open while the second is chosen).</summary>
    private static (int, int) FreeLoopbackPorts()
    {
        var first = new TcpListener(IPAddress.Loopback, 0);
        var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        try
        {
            return (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
        }
        finally
        {
            first.Stop();
            second.Stop();
        }
    }
}
