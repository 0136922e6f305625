using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;

namespace OrleansMQ.Faults.Workload;

/// <summary>An Orleans client connected to one or several silo-host gateways on 127.0.0.1, with the OrleansMQ client.</summary>
internal sealed class BrokerConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private BrokerConnection(IHost host) => _host = host;

    public IOrleansMQClient Client => _host.Services.GetRequiredService<IOrleansMQClient>();

    /// <summary>Connects with static gateway clustering (the client fails over between the gateways), retrying for 60 s.</summary>
    public static async Task<BrokerConnection> ConnectAsync(IReadOnlyList<int> gatewayPorts, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering([.. gatewayPorts.Select(p => new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, p))]);
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = "omq";
                o.ServiceId = "omq";
            });
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
