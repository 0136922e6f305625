using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Benchmarks.Peers.Drivers;
using OrleansMQ.Client;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Peers.Servers;

/// <summary>
/// The real silo host (<c>omq-silo.dll</c>, built with this harness) as a child process on free loopback ports with a
/// fresh data directory and its shipped defaults: file log with <c>Fsync=Always</c>, file grain state. The harness
/// reaches it through an Orleans client (the OrleansMQ client library) over the silo's gateway.
/// </summary>
internal sealed class OrleansMQServer : PeerServer
{
    private SiloHostProcess? _silo;
    private IHost? _client;

    private OrleansMQServer()
        : base("OrleansMQ")
    {
    }

    public override IReadOnlyList<DriverVariant> Variants =>
        [new("OrleansMQ", _ => Task.FromResult<IBenchmarkDriver>(new OrleansMQDriver(_client!.Services.GetRequiredService<IOrleansMQClient>())))];

    /// <summary>The silo host's HTTP gateway port (REST, WebSocket) on 127.0.0.1.</summary>
    public int HttpPort => _silo?.HttpPort ?? throw new InvalidOperationException("The silo host is not running.");

    /// <summary>The silo host's STOMP 1.2 over TCP port on 127.0.0.1.</summary>
    public int StompPort => _silo?.StompPort ?? throw new InvalidOperationException("The silo host is not running.");

    /// <summary>The harness's OrleansMQ client (an Orleans client over the silo's gateway).</summary>
    public IOrleansMQClient Client => _client?.Services.GetRequiredService<IOrleansMQClient>() ?? throw new InvalidOperationException("The silo host is not running.");

    public override string Describe() => $"OrleansMQ {Version} silo-host process (file log, Fsync=Always, file state), gateway port {_silo?.GatewayPort}";

    public static async Task<OrleansMQServer> StartAsync(CancellationToken cancellationToken)
    {
        string dll;
        try
        {
            dll = BuildOutputs.SiloHostDll;
        }
        catch (FileNotFoundException ex)
        {
            throw new PeerUnavailableException(ex.Message);
        }

        var server = new OrleansMQServer();
        try
        {
            server.Version = typeof(IOrleansMQClient).Assembly.GetName().Version?.ToString(3) ?? "?";
            server._silo = await SiloHostProcess.StartAsync(server.DataDirectory.File("data"), SiloStorage.File, "--Logging:LogLevel:Default=Warning");
            server.Broker = server._silo.Current;
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.UseOrleansClient(client => client.UseLocalhostClustering(server._silo.GatewayPort, serviceId: "omq", clusterId: "omq"));
            builder.Services.AddOrleansMQClient();
            server._client = builder.Build();
            await server._client.StartAsync(cancellationToken);
            return server;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            await server.DisposeAsync();
            throw new PeerUnavailableException($"The silo host did not start: {ex.Message}");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    protected override async ValueTask OnStoppingAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }
}
