using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// A cluster of <see cref="BenchmarkSettings.Silos"/> silos (each its own generic host, localhost clustering on free
/// loopback ports; the first is the primary the others join) and one Orleans client (another host in the same process)
/// that reaches them through their gateways over 127.0.0.1, so every publish and receive takes the real client path:
/// serialization, TCP, gateway, grain call. The broker keeps its files under a fresh temporary data directory (shared by
/// the silos: a partition is active on one silo at a time), or with <c>--storage azure</c> its log and state in Azure
/// Storage under a name prefix of its own.
/// </summary>
internal sealed class BrokerUnderTest : IAsyncDisposable
{
    private const string ServiceId = "omq-bench";

    private readonly IHost[] _silos;
    private readonly IHost _client;

    private BrokerUnderTest(IHost[] silos, IHost client, string dataDirectory, (int Silo, int Gateway)[] ports, AzureStorageUnderTest? azure, GrainCallStats? calls, GrainCallStats? clientCalls, LogAppendStats? appends, WarningLog warnings)
    {
        _silos = silos;
        _client = client;
        DataDirectory = dataDirectory;
        Ports = ports;
        Azure = azure;
        Calls = calls;
        ClientCalls = clientCalls;
        Appends = appends;
        Warnings = warnings;
    }

    public IOrleansMQClient Client => _client.Services.GetRequiredService<IOrleansMQClient>();

    public string DataDirectory { get; }

    /// <summary>Silo (fabric) and gateway port of each silo; the first silo is the primary.</summary>
    public (int Silo, int Gateway)[] Ports { get; }

    /// <summary>The storage account of a <c>--storage azure</c> run; null otherwise.</summary>
    public AzureStorageUnderTest? Azure { get; }

    /// <summary>Silo-side grain call counts (all silos together); null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public GrainCallStats? Calls { get; }

    /// <summary>Client-side grain call counts and round trips; null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public GrainCallStats? ClientCalls { get; }

    /// <summary>Log append counts and durable-append times (all silos together); null when <see cref="BenchmarkSettings.SiloStats"/> is off.</summary>
    public LogAppendStats? Appends { get; }

    public WarningLog Warnings { get; }

    /// <summary>How the storage is set up, for the configuration printout.</summary>
    public static string DescribeStorage(BenchmarkSettings settings) => settings.Storage switch
    {
        StorageOption.Memory => "in-memory log + in-memory grain state (not durable; fsync n/a)",
        StorageOption.Azure => $"Azure append-blob log + Azure Table grain state ({(settings.AzureConnectionString is null ? "private Azurite" : "given account")})",
        _ => $"file segment log (fsync {settings.Fsync.ToString().ToLowerInvariant()}{(settings.Journal && settings.Silos == 1 ? ", journal" : "")}) + file grain state (fsync always)",
    };

    /// <summary>"1 silo" or "3 silos", for messages.</summary>
    public static string DescribeSilos(BenchmarkSettings settings) => settings.Silos == 1 ? "1 silo" : $"{settings.Silos} silos";

    public static async Task<BrokerUnderTest> StartAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        var azure = settings.Storage == StorageOption.Azure ? await AzureStorageUnderTest.StartAsync(settings, cancellationToken) : null;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "omq-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var ports = FreeLoopbackPorts(2 * settings.Silos).Chunk(2).Select(p => (Silo: p[0], Gateway: p[1])).ToArray();
        var warnings = new WarningLog();
        var calls = settings.SiloStats ? new GrainCallStats() : null;
        var clientCalls = settings.SiloStats ? new GrainCallStats() : null;
        var appends = settings.SiloStats ? new LogAppendStats() : null;
        var primary = new IPEndPoint(IPAddress.Loopback, ports[0].Silo);

        var silos = new IHost[settings.Silos];
        for (var i = 0; i < silos.Length; i++)
        {
            var (siloPort, gatewayPort) = ports[i];
            var siloBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dataDirectory });
            QuietLogging(siloBuilder.Logging, warnings, silos.Length == 1 ? "silo" : $"silo{i}");
            siloBuilder.UseOrleans(silo =>
            {
                // Development clustering: the primary silo keeps the membership table; the others join it.
                silo.UseLocalhostClustering(siloPort, gatewayPort, primarySiloEndpoint: i == 0 ? null : primary, serviceId: ServiceId, clusterId: ServiceId);
                silo.AddOrleansMQ(o =>
                {
                    o.DataDirectory = dataDirectory;
                    ConfigureStorage(o, settings, azure);
                    if (settings.RoutingCacheTtl is { } ttl)
                    {
                        o.RoutingCacheTtl = ttl;
                    }

                    if (settings.RetentionInterval is { } retention)
                    {
                        o.RetentionInterval = retention;
                    }
                });
                if (settings.Placement == PlacementOption.Random)
                {
                    // Orleans' default strategy for grain classes without a placement attribute (the broker's have none).
                    silo.Services.AddSingleton<PlacementStrategy, RandomPlacement>();
                }

                if (calls is not null)
                {
                    silo.AddIncomingGrainCallFilter(calls);
                }

                if (appends is not null)
                {
                    MeasuredMessageLogFactory.Decorate(silo.Services, appends);
                }
            });
            silos[i] = siloBuilder.Build();
        }

        var clientBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dataDirectory });
        QuietLogging(clientBuilder.Logging, warnings, "client");
        clientBuilder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering([.. ports.Select(p => p.Gateway)], serviceId: ServiceId, clusterId: ServiceId);
            if (clientCalls is not null)
            {
                client.AddOutgoingGrainCallFilter(clientCalls);
            }
        });
        clientBuilder.Services.AddOrleansMQClient();
        var client = clientBuilder.Build();

        try
        {
            // The primary first: the others join the membership it keeps.
            foreach (var silo in silos)
            {
                await silo.StartAsync(cancellationToken);
            }

            await client.StartAsync(cancellationToken);
        }
        catch
        {
            await StopAsync(client, silos);
            DeleteDirectory(dataDirectory);
            if (azure is not null)
            {
                await azure.DisposeAsync();
            }

            throw;
        }

        return new BrokerUnderTest(silos, client, dataDirectory, ports, azure, calls, clientCalls, appends, warnings);
    }

    /// <summary>
    /// Where the grains of a topic are active, per silo in start order (from Orleans' management grain), e.g.
    /// <c>PartitionGrain 3/3/2</c>.
    /// </summary>
    public async Task<string> DescribePlacementAsync(string topic, params string[] grainClasses)
    {
        try
        {
            var management = _client.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
            var statistics = await management.GetDetailedGrainStatistics();
            return string.Join("; ", grainClasses.Select(grainClass =>
            {
                var perSilo = Ports.Select(p => statistics.Count(s =>
                    s.SiloAddress.Endpoint.Port == p.Silo
                    && s.GrainType.StartsWith($"OrleansMQ.Server.Grains.{grainClass},", StringComparison.Ordinal)
                    && s.GrainId.Key.ToString()!.StartsWith($"{topic}/", StringComparison.Ordinal)));
                return $"{grainClass} {string.Join('/', perSilo)}";
            }));
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            return $"unknown ({ex.GetType().Name}: {ex.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(_client, _silos);
        }
        finally
        {
            DeleteDirectory(DataDirectory);
            if (Azure is not null)
            {
                await Azure.DisposeAsync();
            }
        }
    }

    private static void ConfigureStorage(OrleansMQServerOptions options, BenchmarkSettings settings, AzureStorageUnderTest? azure)
    {
        switch (settings.Storage)
        {
            case StorageOption.Memory:
                options.LogStorage = LogStorageKind.InMemory;
                options.StateStorage = LogStorageKind.InMemory;
                break;
            case StorageOption.Azure:
                options.LogStorage = LogStorageKind.AzureStorage;
                options.StateStorage = LogStorageKind.AzureStorage;
                options.AzureStorageConnectionString = azure!.ConnectionString;
                options.AzureNamePrefix = azure.NamePrefix;
                break;
            default:
                options.LogStorage = LogStorageKind.File;
                options.StateStorage = LogStorageKind.File;
                options.Fsync = settings.Fsync == FsyncOption.Never ? FsyncPolicy.Never : FsyncPolicy.Always;
                options.ParallelFlushes = settings.ParallelFlushes;
                // The silos of a multi-silo run share the data directory: each journal is locked by one silo, and state
                // journaled by one would not be seen by another, so only a single silo journals.
                options.FileLogJournal = settings.Journal && settings.Silos == 1;
                options.StateJournal = settings.Silos == 1;
                break;
        }
    }

    private static void QuietLogging(ILoggingBuilder logging, WarningLog warnings, string source)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddProvider(warnings.CreateProvider(source));
    }

    /// <summary>Stops the client, then the silos in reverse start order (the primary, which keeps the membership, last); bounded.</summary>
    private static async Task StopAsync(IHost client, IHost[] silos)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30 + (10 * silos.Length)));
        var errors = new List<Exception>();
        foreach (var host in silos.Reverse().Prepend(client))
        {
            try
            {
                await host.StopAsync(timeout.Token);
            }
            catch (Exception ex)
            {
                errors.Add(ex);
            }
            finally
            {
                host.Dispose();
            }
        }

        if (errors.Count > 0)
        {
            throw errors.Count == 1 ? errors[0] : new AggregateException(errors);
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

    /// <summary>Distinct free TCP ports on 127.0.0.1 (all held open while they are chosen).</summary>
    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
