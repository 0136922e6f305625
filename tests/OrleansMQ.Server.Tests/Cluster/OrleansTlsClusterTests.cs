using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using OrleansMQ.Client;
using OrleansMQ.Client.Security;
using OrleansMQ.Grains;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Testing.Processes;
using OrleansMQ.Testing.Tls;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// Orleans TLS (Microsoft.Orleans.Connections.Security, configured the way silo-host does from <c>Orleans:Tls</c>) on a
/// real two-silo TestingHost cluster over TCP sockets on 127.0.0.1, with a self-signed certificate this test makes:
/// silo-to-silo and client-to-silo connections are mutual TLS; a client without TLS cannot connect.
/// </summary>
public sealed class OrleansTlsClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new("orleans-tls");
    private SelfSignedCertificate _certificate = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _certificate = SelfSignedCertificate.Create(_directory.Path);
        var builder = new TestClusterBuilder(2);
        // Real sockets (the default is an in-memory transport), so TLS runs over TCP as in a deployment.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        // Ports below the ephemeral range, checked free just before: Orleans' default allocator coordinates only within
        // one process, and another test process once took a port between its check and the silo's bind.
        builder.PortAllocator = new LoopbackPortAllocator();
        builder.Properties[TlsConfigurator.CertificatePath] = _certificate.PfxPath;
        builder.Properties[TlsConfigurator.CertificatePassword] = _certificate.Password;
        builder.Properties[TlsConfigurator.Thumbprint] = _certificate.Sha256;
        builder.Properties[TlsConfigurator.DataDirectory] = _directory.File("data");
        builder.AddSiloBuilderConfigurator<TlsConfigurator>();
        builder.AddClientBuilderConfigurator<TlsConfigurator>();
        _cluster = builder.Build();
        using var timeout = new CancellationTokenSource(Deadline);
        await _cluster.DeployAsync().WaitAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task A_message_published_through_one_silo_to_a_partition_on_the_other_is_consumed_over_tls()
    {
        Assert.Equal(2, _cluster.Silos.Count);
        Assert.All(_cluster.Silos, s => Assert.InRange(s.SiloAddress.Endpoint.Port, 20000, 32767)); // LoopbackPortAllocator's
        var mq = _cluster.Client.ServiceProvider.GetRequiredService<IOrleansMQClient>();
        var topic = TestNames.Unique("tls");
        await mq.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 1 });
        await mq.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest });
        Assert.Equal(0, (await mq.PublishAsync(topic, Message.FromText("first"))).Offset);

        // Where the partition lives; a client that knows only the other silo's gateway must reach it silo to silo.
        var management = _cluster.Client.GetGrain<IManagementGrain>(0);
        var host = await management.GetActivationAddress(_cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, 0)));
        Assert.NotNull(host);
        var other = Assert.Single(_cluster.Silos, s => !s.SiloAddress.Equals(host));

        using var client = BuildClient(other.GatewayAddress.Endpoint, Settings(), retry: true);
        using var timeout = new CancellationTokenSource(Deadline);
        await client.StartAsync(timeout.Token);
        try
        {
            var remote = client.Services.GetRequiredService<IOrleansMQClient>();
            Assert.Equal(1, (await remote.PublishAsync(topic, Message.FromText("second"), timeout.Token)).Offset);

            await using var consumer = remote.CreateConsumer(topic, "s");
            await using var e = consumer.ConsumeAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
            var got = await Eventually.TakeAsync(e, 2, ack: true);
            Assert.Equal(["first", "second"], got.Select(d => d.BodyAsString()));
            Assert.All(got, d => Assert.Equal(0, d.Partition));
        }
        finally
        {
            await client.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_client_without_tls_cannot_connect_to_the_tls_cluster()
    {
        // No retries: the first failed connection attempt ends StartAsync, instead of the client retrying forever.
        using var client = BuildClient(_cluster.Silos[0].GatewayAddress.Endpoint, new OrleansTlsSettings(), retry: false);
        using var timeout = new CancellationTokenSource(Deadline);

        var failure = await Record.ExceptionAsync(() => client.StartAsync(timeout.Token));

        Assert.NotNull(failure);
        Assert.False(timeout.IsCancellationRequested, $"the client neither connected nor failed within {Deadline}: {failure}");
        Assert.IsNotType<OperationCanceledException>(failure);
    }

    [Fact]
    public async Task A_client_with_an_unpinned_certificate_is_refused()
    {
        // A different self-signed certificate: TLS, but neither side trusts the other's certificate.
        using var stranger = new TempDirectory("orleans-tls-stranger");
        var foreign = SelfSignedCertificate.Create(stranger.Path);
        var settings = new OrleansTlsSettings { CertificatePath = foreign.PfxPath, CertificatePassword = foreign.Password, TrustedThumbprints = [foreign.Sha256] };
        using var client = BuildClient(_cluster.Silos[0].GatewayAddress.Endpoint, settings, retry: false);
        using var timeout = new CancellationTokenSource(Deadline);

        var failure = await Record.ExceptionAsync(() => client.StartAsync(timeout.Token));

        Assert.NotNull(failure);
        Assert.False(timeout.IsCancellationRequested, $"the client neither connected nor failed within {Deadline}: {failure}");
        Assert.IsNotType<OperationCanceledException>(failure);
    }

    private OrleansTlsSettings Settings() => new()
    {
        CertificatePath = _certificate.PfxPath,
        CertificatePassword = _certificate.Password,
        TrustedThumbprints = [_certificate.Sha256],
    };

    /// <summary>An Orleans client (outside the test cluster) that knows one gateway only.</summary>
    private IHost BuildClient(IPEndPoint gateway, OrleansTlsSettings settings, bool retry)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateway);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = _cluster.Options.ClusterId;
                o.ServiceId = _cluster.Options.ServiceId;
            });
            client.UseOrleansMQTls(settings);
            if (!retry)
            {
                client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
            }
        });
        builder.Services.AddOrleansMQClient();
        return builder.Build();
    }

    /// <summary>
    /// The test cluster's silos and client: TLS exactly as silo-host configures it (<c>silo.UseTls(settings.LoadCertificate(), settings.Apply)</c>
    /// from <c>Orleans:Tls</c>), and the broker on the file log.
    /// </summary>
    private sealed class TlsConfigurator : ISiloConfigurator, IClientBuilderConfigurator
    {
        public const string CertificatePath = "OmqTest:Tls:CertificatePath";
        public const string CertificatePassword = "OmqTest:Tls:CertificatePassword";
        public const string Thumbprint = "OmqTest:Tls:Thumbprint";
        public const string DataDirectory = "OmqTest:DataDirectory";

        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = siloBuilder.Configuration;
            var settings = From(configuration);
            siloBuilder.UseTls(settings.LoadCertificate(), settings.Apply);
            // Two silos share the data directory (test only): the journals, locked by one silo each, stay off.
            siloBuilder.AddOrleansMQ(o =>
            {
                o.DataDirectory = configuration[DataDirectory]!;
                o.FileLogJournal = false;
                o.StateJournal = false;
            });
            siloBuilder.Services.AddOrleansMQClient();
        }

        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
        {
            clientBuilder.UseOrleansMQTls(From(configuration));
            clientBuilder.Services.AddOrleansMQClient();
        }

        private static OrleansTlsSettings From(IConfiguration configuration) => new()
        {
            CertificatePath = configuration[CertificatePath],
            CertificatePassword = configuration[CertificatePassword],
            TrustedThumbprints = [configuration[Thumbprint]!],
        };
    }
}

/// <summary>
/// Test cluster ports from <see cref="LoopbackPorts.ReserveConsecutive"/>: every silo's port and then every gateway's,
/// consecutive, below the ephemeral range, from a random start (so test processes running side by side rarely meet).
/// </summary>
internal sealed class LoopbackPortAllocator : ITestClusterPortAllocator
{
    public (int, int) AllocateConsecutivePortPairs(int numPorts)
    {
        var first = LoopbackPorts.ReserveConsecutive(2 * numPorts);
        return (first, first + numPorts);
    }

    public void Dispose()
    {
    }
}
