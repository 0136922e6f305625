using OrleansMQ.Benchmarks.Peers.Drivers;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Peers.Servers;

/// <summary>
/// <c>redis-server</c> (Debian's package) on a free loopback port with AOF on (<c>appendonly yes</c>), RDB snapshots
/// off, data in a fresh temporary directory. The drivers switch <c>appendfsync</c> between <c>always</c> and
/// <c>everysec</c> per row.
/// </summary>
internal sealed class RedisServer : PeerServer
{
    private int _port;

    private RedisServer()
        : base("Redis")
    {
    }

    public override IReadOnlyList<DriverVariant> Variants =>
    [
        new("Redis Streams (appendfsync always)", ct => RedisStreamsDriver.ConnectAsync(_port, "always", ct)),
        new("Redis Streams (appendfsync everysec)", ct => RedisStreamsDriver.ConnectAsync(_port, "everysec", ct)),
    ];

    public override string Describe() => $"Redis {Version}: appendonly yes, save \"\" (no RDB), port {_port}";

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        var program = FindProgram("redis-server") ?? throw new PeerUnavailableException("redis-server is not installed (apt-get install redis-server).");
        var server = new RedisServer();
        try
        {
            server._port = LoopbackPorts.Reserve(1)[0];
            server.Version = (await RunForOutputAsync(program, "--version")).Split(' ').FirstOrDefault(p => p.StartsWith("v=", StringComparison.Ordinal))?[2..] ?? "?";
            server.Broker = server.Start("redis-server", program,
            [
                "--port", server._port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--protected-mode", "no",
                "--dir", server.DataDirectory.Path, "--daemonize", "no", "--logfile", "",
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            ]);
            await WaitUntilAsync(server.Broker, () => LoopbackPorts.AcceptsConnectionsAsync(server._port), $"accepting connections on 127.0.0.1:{server._port}", cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}
