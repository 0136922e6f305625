using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansMQ.Server.Hosting;

// The embedded broker: one silo, localhost clustering, file log and file state under OrleansMQ:DataDirectory.
// Settings come from appsettings.json, environment variables (OrleansMQ__DataDirectory) and the command line
// (--OrleansMQ:DataDirectory=/var/lib/omq --Orleans:GatewayPort=30000).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var orleans = builder.Configuration.GetSection("Orleans");
var siloPort = orleans.GetValue("SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
var gatewayPort = orleans.GetValue("GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);
var clusterId = orleans.GetValue("ClusterId", "omq");

builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "omq", clusterId: clusterId);
    silo.AddOrleansMQ();
    silo.Services.AddOptions<OrleansMQServerOptions>().Bind(builder.Configuration.GetSection("OrleansMQ"));
    silo.Services.AddOrleansMQClient();
});

using var host = builder.Build();
var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrleansMQServerOptions>>().Value;
var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansMQ.SiloHost");
#pragma warning disable CA1848 // a one-off startup line
logger.LogInformation("OrleansMQ silo: data in {DataDirectory} ({Log} log, {State} state), gateway on 127.0.0.1:{GatewayPort}",
    Path.GetFullPath(options.DataDirectory), options.LogStorage, options.StateStorage, gatewayPort);
#pragma warning restore CA1848
await host.RunAsync();
