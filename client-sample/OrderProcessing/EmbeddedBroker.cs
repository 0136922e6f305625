using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// The shop's own Orleans silo with the broker added to it (<c>AddOrleansMQ</c>): subscriber grains and user
/// transforms are code, so they live in a silo, and the silo that runs them can as well be the broker. Localhost
/// clustering on free 127.0.0.1 ports; file log and file state under the data directory.
/// </summary>
internal sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly IHost _host;

    private EmbeddedBroker(IHost host, int gatewayPort)
    {
        _host = host;
        GatewayPort = gatewayPort;
    }

    public IOrleansMQClient Client => _host.Services.GetRequiredService<IOrleansMQClient>();

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public ProductCatalog Catalog => _host.Services.GetRequiredService<ProductCatalog>();

    /// <summary>The silo's Orleans gateway (the <c>omq</c> CLI can connect to it while the sample runs).</summary>
    public int GatewayPort { get; }

    public static async Task<EmbeddedBroker> StartAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var (siloPort, gatewayPort) = FreeLoopbackPorts();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dataDirectory });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The broker logs every nack and dead-lettering as a warning; the sample prints its own account of them.
        builder.Logging.AddFilter("OrleansMQ.Server", LogLevel.Error);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "omq-orders", clusterId: "omq-orders");
            silo.AddOrleansMQ(o =>
            {
                o.DataDirectory = dataDirectory;
                // One message per push: a throw then nacks only the order that failed, not the others of its batch.
                o.PushBatchSize = 1;
            });
            silo.Services.AddOrleansMQClient();
            silo.Services.AddSingleton<CustomerDirectory>();
            silo.Services.AddSingleton<ProductCatalog>();
            silo.Services.AddKeyedSingleton<IMessageTransform, OrderEnrichment>(OrderEnrichment.Name);
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new EmbeddedBroker(host, gatewayPort);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }

    private static (int Silo, int Gateway) FreeLoopbackPorts()
    {
        using var a = new TcpListener(IPAddress.Loopback, 0);
        using var b = new TcpListener(IPAddress.Loopback, 0);
        a.Start();
        b.Start();
        var ports = (((IPEndPoint)a.LocalEndpoint).Port, ((IPEndPoint)b.LocalEndpoint).Port);
        a.Stop();
        b.Stop();
        return ports;
    }
}
