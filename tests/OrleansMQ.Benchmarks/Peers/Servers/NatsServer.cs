using System.Globalization;
using OrleansMQ.Benchmarks.Peers.Drivers;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Peers.Servers;

/// <summary>
/// <c>nats-server</c> (Debian's package) with JetStream on, file store in a fresh temporary directory, from a config
/// file of our own on a free loopback port. Debian 12 ships 2.9.10, which has no <c>sync_interval</c> (2.10+): stream
/// files are fsync'd every 2 minutes, not before the PubAck.
/// </summary>
internal sealed class NatsServer : PeerServer
{
    private int _port;

    private NatsServer()
        : base("NATS")
    {
    }

    public override IReadOnlyList<DriverVariant> Variants => [new("NATS JetStream", ct => NatsJetStreamDriver.ConnectAsync(_port, Version, ct))];

    public override string Describe() => $"nats-server {Version}: JetStream, file store, default sync (every 2 min), port {_port}";

    public static async Task<NatsServer> StartAsync(CancellationToken cancellationToken)
    {
        var program = FindProgram("nats-server") ?? throw new PeerUnavailableException("nats-server is not installed (apt-get install nats-server).");
        var server = new NatsServer();
        try
        {
            server._port = LoopbackPorts.Reserve(1)[0];
            server.Version = (await RunForOutputAsync(program, "--version")).Split(' ').LastOrDefault()?.TrimStart('v') ?? "?";
            var config = server.DataDirectory.File("nats.conf");
            await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
                listen: 127.0.0.1:{{server._port}}
                jetstream {
                  store_dir: "{{server.DataDirectory.File("jetstream")}}"
                  max_memory_store: 256MB
                  max_file_store: 8GB
                }
                """), cancellationToken);
            server.Broker = server.Start("nats-server", program, ["-c", config]);
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
