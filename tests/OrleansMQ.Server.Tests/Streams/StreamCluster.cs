using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;
using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Streams;

/// <summary>
/// A real multi-silo TestingHost cluster running the broker (file log and state in a temporary directory) and the
/// OrleansMQ stream provider <see cref="Provider"/> on every silo and on the client, with a file-backed PubSubStore
/// (so explicit subscriptions survive a silo) and a <see cref="FakeTimeProvider"/> as the broker clock (message time stamps).
/// </summary>
public sealed class StreamCluster : IAsyncDisposable
{
    public const string Provider = "omq";
    public const int Partitions = 4;

    private StreamCluster(InProcessTestCluster cluster, string dataDirectory, FakeTimeProvider time)
    {
        Cluster = cluster;
        DataDirectory = dataDirectory;
        Time = time;
    }

    public InProcessTestCluster Cluster { get; }

    public string DataDirectory { get; }

    public FakeTimeProvider Time { get; }

    public string Topic => $"orleans.streams.{Provider}";

    public IOrleansMQClient Client => Cluster.Client.ServiceProvider.GetRequiredService<IOrleansMQClient>();

    public IClusterClient Orleans => Cluster.Client;

    public static async Task<StreamCluster> StartAsync(short silos)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "omq-stream-tests", Guid.NewGuid().ToString("N"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { AutoAdvanceAmount = TimeSpan.Zero };
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddKeyedSingleton<TimeProvider>(OrleansMQServerOptions.TimeProviderKey, time);
            silo.AddOrleansMQ(o =>
            {
                o.DataDirectory = dataDirectory;
                o.MaxReceiveWait = TimeSpan.FromSeconds(2);
                o.LogSegmentBytes = 64 * 1024;
                o.StateJournal = silos == 1; // the silos share the data directory (see BrokerCluster)
                o.FileLogJournal = silos == 1;
            });
            silo.Services.AddGrainStorage("PubSubStore", (sp, name) =>
                ActivatorUtilities.CreateInstance<FileGrainStorage>(sp, name, new FileGrainStorageOptions { RootDirectory = Path.Combine(dataDirectory, "pubsub") }));
            silo.AddOrleansMQStreams(Provider, o => o.Partitions = Partitions);
            silo.Services.AddLogging(l => l.AddProvider(new StreamLogCapture()).SetMinimumLevel(LogLevel.Debug));
        });
        builder.ConfigureClient(client =>
        {
            client.Services.AddOrleansMQClient();
            client.AddOrleansMQStreams(Provider, o => o.Partitions = Partitions);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new StreamCluster(cluster, dataDirectory, time);
    }

    /// <summary>Waits until the provider's subscription has acknowledged every message of the topic (all delivered and committed).</summary>
    public Task AllCommittedAsync(TimeSpan? timeout = null) =>
        OrleansMQ.Tests.Cluster.Eventually.ReturnsAsync(
            () => Client.Admin.GetSubscriptionStatsAsync(Topic, "orleans-streams"),
            stats => stats.All(s => s.AckFloor >= s.HighWatermark),
            timeout ?? TimeSpan.FromSeconds(60),
            "every stream message committed by the pulling agents");

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One shared two-silo stream cluster for the stream tests that do not stop silos.</summary>
public sealed class StreamClusterFixture : IAsyncLifetime
{
    public StreamCluster Streams { get; private set; } = null!;

    public async Task InitializeAsync() => Streams = await StreamCluster.StartAsync(silos: 2);

    public async Task DisposeAsync() => await Streams.DisposeAsync();
}
