using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// A real multi-silo Orleans cluster (in-process TestingHost) running the broker on the file log and file state under
/// a temporary data directory, with a shared <see cref="FakeTimeProvider"/> as the broker clock.
/// </summary>
public sealed class BrokerCluster : IAsyncDisposable
{
    private BrokerCluster(InProcessTestCluster cluster, string dataDirectory, FakeTimeProvider time)
    {
        Cluster = cluster;
        DataDirectory = dataDirectory;
        Time = time;
    }

    public InProcessTestCluster Cluster { get; }

    public string DataDirectory { get; }

    public FakeTimeProvider Time { get; }

    public IOrleansMQClient Client => Cluster.Client.ServiceProvider.GetRequiredService<IOrleansMQClient>();

    public IGrainFactory Grains => Cluster.Client;

    public static async Task<BrokerCluster> StartAsync(short silos = 2, string? dataDirectory = null, FakeTimeProvider? time = null, Action<OrleansMQServerOptions>? configure = null, string? serviceId = null,
        string? azureMembershipConnectionString = null)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "omq-tests", Guid.NewGuid().ToString("N"));
        time ??= new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { AutoAdvanceAmount = TimeSpan.Zero };
        var builder = new InProcessTestClusterBuilder(silos);
        if (serviceId is not null)
        {
            // Storage that is shared beyond one cluster (Azure) keys grain state by service id: a restarted cluster must keep it.
            builder.Options.ServiceId = serviceId;
        }

        if (azureMembershipConnectionString is not null)
        {
            // Real cluster membership in Azure Table (Microsoft.Orleans.Clustering.AzureStorage), as silo-host's cluster
            // mode uses, instead of TestingHost's in-memory membership; the cluster id keeps test clusters apart in the table.
            // TestingHost 10.4.2 keeps InProcessTestClusterOptions.UseTestClusterMembership internal (the classic TestCluster
            // has it public), and with it on, its in-memory table replaces any IMembershipTable we register. The Azure test
            // asserts the silos really use the Azure table, so a TestingHost change that breaks this fails loudly.
            var useTestMembership = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership",
                    System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
                ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership is gone: revisit Azure membership in BrokerCluster.");
            useTestMembership.SetValue(builder.Options, false);
            builder.Options.ClusterId = $"omq-{Guid.NewGuid():N}"[..24];
        }

        var dir = dataDirectory;
        var clock = time;
        builder.ConfigureSilo((_, silo) =>
        {
            if (azureMembershipConnectionString is not null)
            {
                silo.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(azureMembershipConnectionString));
            }

            silo.Services.AddKeyedSingleton<TimeProvider>(OrleansMQServerOptions.TimeProviderKey, clock);
            silo.AddOrleansMQ(o =>
            {
                o.DataDirectory = dir;
                o.MaxReceiveWait = TimeSpan.FromSeconds(2);
                o.RetentionInterval = TimeSpan.FromSeconds(1);
                o.LogSegmentBytes = 16 * 1024;
                // The silos share one data directory (test only: file storage is single-silo). The state journal keeps
                // recent state in its silo's memory and journal file until a checkpoint, so another silo would not see
                // it: only a single-silo cluster journals.
                o.StateJournal = silos == 1;
                o.FileLogJournal = silos == 1; // each journal is locked by its silo (a second one would fail to start)
                configure?.Invoke(o);
            });
            silo.Services.AddOrleansMQClient();
            silo.Services.AddKeyedSingleton<IMessageTransform, UpperCaseTransform>("upper");
            silo.Services.AddKeyedSingleton<IMessageTransform, RejectingTransform>("explode");
        });
        builder.ConfigureClient(client =>
        {
            if (azureMembershipConnectionString is not null)
            {
                client.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(azureMembershipConnectionString));
            }

            client.Services.AddOrleansMQClient();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new BrokerCluster(cluster, dataDirectory, time);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    public void DeleteData()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>One shared two-silo cluster for the cluster test classes (xunit runs a collection's tests one after another).</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    public BrokerCluster Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerCluster.StartAsync();

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        Broker.DeleteData();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<SharedClusterFixture>
{
    public const string Name = "cluster";
}
