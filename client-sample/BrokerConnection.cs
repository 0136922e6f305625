using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;

namespace OrleansMQ.ClientSample;

/// <summary>Connects an Orleans client to a silo-host gateway on 127.0.0.1 and exposes the OrleansMQ client.</summary>
internal sealed class BrokerConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private BrokerConnection(IHost host) => _host = host;

    public IOrleansMQClient Client => _host.Services.GetRequiredService<IOrleansMQClient>();

    public static Task<BrokerConnection> ConnectAsync(int gatewayPort, CancellationToken cancellationToken) => ConnectAsync([gatewayPort], cancellationToken);

    /// <summary>Connects to any of several gateways (a multi-silo cluster); the client fails over between them.</summary>
    public static async Task<BrokerConnection> ConnectAsync(int[] gatewayPorts, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            if (gatewayPorts.Length == 1)
            {
                client.UseLocalhostClustering(gatewayPorts[0], serviceId: "omq", clusterId: "omq");
            }
            else
            {
                client.UseStaticClustering([.. gatewayPorts.Select(p => new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, p))]);
                client.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = "omq";
                    o.ServiceId = "omq";
                });
            }

            // The broker may still be starting: keep trying for a while instead of failing at once.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            client.UseConnectionRetryFilter(async (_, ct) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                return DateTime.UtcNow < deadline;
            });
        });
        builder.Services.AddOrleansMQClient();
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new BrokerConnection(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
