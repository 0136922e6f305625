using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansMQ.Gateway;
using OrleansMQ.Server.Hosting;

// The embedded broker: one silo, localhost clustering, file log and file state under OrleansMQ:DataDirectory, plus the
// gateway for non-.NET clients (HTTP REST and STOMP over WebSocket on Gateway:HttpPort, STOMP over TCP on Gateway:StompPort).
// Settings come from appsettings.json, environment variables (OrleansMQ__DataDirectory) and the command line
// (--OrleansMQ:DataDirectory=/var/lib/omq --Orleans:GatewayPort=30000 --Gateway:HttpPort=8080).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var orleans = builder.Configuration.GetSection("Orleans");
var siloPort = orleans.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
var gatewayPort = orleans.GetValue("GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);
var clusterId = orleans.GetValue("ClusterId", "omq");
// Not under "Orleans": Orleans reads Orleans:Clustering itself (configuration-based providers).
var cluster = builder.Configuration.GetSection("Cluster");
var clustering = cluster.GetValue("Mode", "Localhost")!;

builder.UseOrleans(silo =>
{
    if (string.Equals(clustering, "AzureStorage", StringComparison.OrdinalIgnoreCase))
    {
        // Cluster mode: membership in Azure Table, so several silo-host processes (on this machine or others) form one
        // cluster. Usually paired with OrleansMQ:LogStorage/StateStorage=AzureStorage so partitions can move between silos.
        var connectionString = cluster.GetValue<string>("AzureStorageConnectionString")
            ?? builder.Configuration.GetValue<string>("OrleansMQ:AzureStorageConnectionString")
            ?? throw new InvalidOperationException("Cluster:Mode=AzureStorage needs Cluster:AzureStorageConnectionString (or OrleansMQ:AzureStorageConnectionString).");
        silo.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connectionString));
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = clusterId;
            o.ServiceId = "omq";
        });
        // Failure detection (ProbeTimeout, NumMissedProbesLimit, …) from Cluster:Membership; the fault tests shorten it.
        silo.Services.AddOptions<ClusterMembershipOptions>().Bind(cluster.GetSection("Membership"));
        var address = System.Net.IPAddress.Parse(cluster.GetValue("AdvertisedIP", "127.0.0.1")!);
        silo.ConfigureEndpoints(address, siloPort, gatewayPort, listenOnAnyHostAddress: false);
    }
    else
    {
        silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "omq", clusterId: clusterId);
    }

    silo.AddOrleansMQ();
    silo.Services.AddOptions<OrleansMQServerOptions>().Bind(builder.Configuration.GetSection("OrleansMQ"));
    silo.Services.AddOrleansMQClient();
});
builder.Services.AddOrleansMQGateway(builder.Configuration.GetSection("Gateway"));

await using var app = builder.Build();
app.MapOrleansMQGateway();

var options = app.Services.GetRequiredService<IOptions<OrleansMQServerOptions>>().Value;
var gateway = app.Services.GetRequiredService<IOptions<OrleansMQGatewayOptions>>().Value;
var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansMQ.SiloHost");
#pragma warning disable CA1848 // one-off startup lines
logger.LogInformation("OrleansMQ silo: data in {DataDirectory} ({Log} log, {State} state), {Clustering} clustering (cluster {ClusterId}), gateway on 127.0.0.1:{GatewayPort}",
    Path.GetFullPath(options.DataDirectory), options.LogStorage, options.StateStorage, clustering, clusterId, gatewayPort);
logger.LogInformation("OrleansMQ gateway: HTTP on http://{Address}:{HttpPort} (OpenAPI /openapi/v1.json, STOMP over WebSocket /stomp), STOMP over TCP on {Address}:{StompPort}",
    gateway.BindAddress, gateway.HttpPort, gateway.BindAddress, gateway.StompPort);
#pragma warning restore CA1848
await app.RunAsync();
