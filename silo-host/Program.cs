using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansMQ.Client.Security;
using Orleans.Dashboard;
using OrleansMQ.Gateway;
using OrleansMQ.Management.Login;
using OrleansMQ.Server.Hosting;
using OrleansMQ.SiloHost;

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
var dashboard = builder.Configuration.GetValue("Dashboard:Enabled", true);
var management = builder.Configuration.GetValue("Management:Enabled", true);
// The Orleans Streams provider backed by an OrleansMQ topic (orleans.streams.{Streams:Provider} unless Streams:Topic is
// set); off by default. Clients use AddOrleansMQStreams with the same provider name and partitions.
var streams = builder.Configuration.GetSection("Streams");
var streamsEnabled = streams.GetValue("Enabled", false);
var streamProvider = streams.GetValue("Provider", "omq")!;

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

    // TLS between silos and from clients (Microsoft.Orleans.Connections.Security), when Orleans:Tls:CertificatePath is set.
    var tls = orleans.GetSection("Tls").Get<OrleansTlsSettings>() ?? new OrleansTlsSettings();
    if (tls.Enabled)
    {
        silo.UseTls(tls.LoadCertificate(), tls.Apply);
    }

    silo.AddOrleansMQ();
    silo.Services.AddOptions<OrleansMQServerOptions>().Bind(builder.Configuration.GetSection("OrleansMQ"));
    silo.Services.AddOrleansMQClient();
    if (streamsEnabled)
    {
        silo.AddOrleansMQStreams(streamProvider);
        silo.Services.AddOptions<OrleansMQ.Streaming.OrleansMQStreamOptions>(streamProvider).Bind(streams);
        // Explicit stream subscriptions live in the broker's own grain storage (file or Azure, as configured).
        silo.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage>("PubSubStore",
            (sp, _) => sp.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(OrleansMQServerOptions.GrainStorageName));
    }

    if (dashboard)
    {
        silo.AddDashboard();
    }
});
builder.Services.AddOrleansMQGateway(builder.Configuration.GetSection("Gateway"));
builder.Services.AddOrleansMQHealthChecks();
if (management)
{
    builder.Services.AddOrleansMQManagement(builder.Configuration.GetSection("Management"));
}

Observability.AddTelemetry(builder);

await using var app = builder.Build();
// The browser chat (wwwroot/chat: STOMP over WebSocket with the vendored @stomp/stompjs) at /chat/.
app.UseDefaultFiles();
app.UseStaticFiles();
if (management)
{
    // Browsers sign in at /ui/login (API key or JWT → cookie); the page's forms carry antiforgery tokens bound to that user.
    app.UseOrleansMQManagementLogin();
    app.UseAntiforgery();
}

app.MapOrleansMQGateway();
app.MapOrleansMQHealthChecks();
Observability.MapTelemetry(app);
if (dashboard)
{
    // Not part of the gateway's API: keep its endpoints out of /openapi/v1.json.
    app.MapOrleansDashboard(routePrefix: "/dashboard").ExcludeFromDescription();
}

if (management)
{
    // Every action of the page (create, publish, re-drive, purge) is in this route group. They change the broker, so
    // they need admin rights on all topics (a rule like admin:*:*) from the gateway's access rules; with
    // anonymous access on (the embedded default) the anonymous rules decide.
    var authorizer = app.Services.GetRequiredService<OrleansMQ.Gateway.Security.IGatewayAuthorizer>();
    app.MapOrleansMQManagement().RequireManagementAuthorization(user =>
        authorizer.Authorize(user, OrleansMQ.Gateway.Security.GatewayAction.Admin, OrleansMQ.Gateway.Security.GatewayResourceKind.Topic, "*"));
}

var options = app.Services.GetRequiredService<IOptions<OrleansMQServerOptions>>().Value;
if (options.LogStorage == LogStorageKind.File || options.StateStorage == LogStorageKind.File)
{
    // Created up front (storage creates its folders lazily), so readiness can tell a fresh data directory from a lost one.
    Directory.CreateDirectory(options.DataDirectory);
}

var gateway = app.Services.GetRequiredService<IOptions<OrleansMQGatewayOptions>>().Value;
var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansMQ.SiloHost");
#pragma warning disable CA1848 // one-off startup lines
logger.LogInformation("OrleansMQ silo: data in {DataDirectory} ({Log} log, {State} state), {Clustering} clustering (cluster {ClusterId}), gateway on 127.0.0.1:{GatewayPort}",
    Path.GetFullPath(options.DataDirectory), options.LogStorage, options.StateStorage, clustering, clusterId, gatewayPort);
logger.LogInformation("OrleansMQ gateway: HTTP on {Scheme}://{Address}:{HttpPort} (OpenAPI /openapi/v1.json, STOMP over WebSocket /stomp, chat /chat/), STOMP over {Stomp} on {Address}:{StompPort}",
    gateway.Tls.CertificatePath is { Length: > 0 } ? "https" : "http", gateway.BindAddress, gateway.HttpPort,
    gateway.Tls.CertificatePath is { Length: > 0 } ? "TLS" : "TCP", gateway.BindAddress, gateway.StompPort);
if (streamsEnabled)
{
    var streamOptions = app.Services.GetRequiredService<IOptionsMonitor<OrleansMQ.Streaming.OrleansMQStreamOptions>>().Get(streamProvider);
    logger.LogInformation("OrleansMQ streams: Orleans stream provider '{Provider}' on topic {Topic} ({Partitions} partitions = queues)",
        streamProvider, streamOptions.TopicFor(streamProvider), streamOptions.Partitions);
}

logger.LogInformation("OrleansMQ security: {ApiKeys} API key(s), JWT bearer tokens {Jwt}, Orleans TLS {OrleansTls}",
    gateway.Security.ApiKeys.Count,
    gateway.Security.Jwt.SigningKey is { Length: > 0 } || gateway.Security.Jwt.Authority is { Length: > 0 } ? "on" : "off",
    orleans.GetValue<string>("Tls:CertificatePath") is { Length: > 0 } ? "on" : "off");
if (gateway.Security.AllowAnonymous)
{
    logger.LogWarning("OrleansMQ gateway: ANONYMOUS ACCESS IS ON (Gateway:Security:AllowAnonymous=true): clients without credentials get {Rules}. "
        + "Fine for local development; set Gateway:Security:AllowAnonymous=false and configure API keys or JWT before exposing the gateway.",
        string.Join(", ", gateway.Security.AnonymousAccess ?? ["*:*:*"]));
}
#pragma warning restore CA1848
await app.RunAsync();
