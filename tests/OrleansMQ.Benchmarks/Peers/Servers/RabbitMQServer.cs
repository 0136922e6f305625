using System.Globalization;
using OrleansMQ.Benchmarks.Peers.Drivers;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Benchmarks.Peers.Servers;

/// <summary>
/// RabbitMQ (Debian's package) as a node of our own: <c>/usr/lib/rabbitmq/bin/rabbitmq-server</c> with every path
/// (Mnesia, logs, config, enabled plugins, cookie via HOME) in a fresh temporary directory, AMQP and distribution on
/// free loopback ports, and a private <c>epmd</c> on a free port (so nothing outlives the run: RabbitMQ would otherwise
/// start a shared, daemonized epmd). <c>RUNNING_UNDER_SYSTEMD</c> makes the script <c>exec</c> the Erlang VM, so the
/// started PID is the broker's.
/// </summary>
internal sealed class RabbitMQServer : PeerServer
{
    private int _port;

    private RabbitMQServer()
        : base("RabbitMQ")
    {
    }

    public override IReadOnlyList<DriverVariant> Variants =>
    [
        new("RabbitMQ quorum", ct => RabbitMQDriver.ConnectAsync(_port, RabbitMQQueueKind.Quorum, ct)),
        new("RabbitMQ classic (lazy)", ct => RabbitMQDriver.ConnectAsync(_port, RabbitMQQueueKind.ClassicLazy, ct)),
    ];

    public override string Describe() => $"RabbitMQ {Version} (Erlang from Debian), single node, port {_port}";

    public static async Task<RabbitMQServer> StartAsync(CancellationToken cancellationToken)
    {
        var program = FindProgram("/usr/lib/rabbitmq/bin/rabbitmq-server") ?? throw new PeerUnavailableException("rabbitmq-server is not installed (apt-get install rabbitmq-server).");
        var epmd = FindProgram("epmd") ?? throw new PeerUnavailableException("epmd (erlang-base) is not installed.");
        var server = new RabbitMQServer();
        try
        {
            var ports = LoopbackPorts.Reserve(3);
            server._port = ports[0];
            var dir = server.DataDirectory;
            server.Version = ReadVersion();
            await File.WriteAllTextAsync(dir.File("enabled_plugins"), "[].", cancellationToken);
            await File.WriteAllTextAsync(dir.File("rabbitmq-env.conf"), "", cancellationToken);
            await File.WriteAllTextAsync(dir.File("rabbitmq.conf"), string.Create(CultureInfo.InvariantCulture, $"""
                listeners.tcp.default = 127.0.0.1:{server._port}
                disk_free_limit.absolute = 50MB
                """), cancellationToken);
            var epmdPort = ports[2].ToString(CultureInfo.InvariantCulture);
            var epmdProcess = server.Start("epmd", epmd, ["-port", epmdPort]);
            await WaitUntilAsync(epmdProcess, () => LoopbackPorts.AcceptsConnectionsAsync(ports[2]), $"epmd listening on {epmdPort}", cancellationToken);
            server.Broker = server.Start("rabbitmq-server", program, [], new Dictionary<string, string>
            {
                ["HOME"] = dir.Path,
                ["RABBITMQ_NODENAME"] = $"omqb{ports[0]}@localhost",
                ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
                ["RABBITMQ_NODE_PORT"] = server._port.ToString(CultureInfo.InvariantCulture),
                ["RABBITMQ_DIST_PORT"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["ERL_EPMD_PORT"] = epmdPort,
                ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
                ["RABBITMQ_MNESIA_BASE"] = dir.File("mnesia"),
                ["RABBITMQ_LOG_BASE"] = dir.File("log"),
                ["RABBITMQ_LOGS"] = "-",
                ["RABBITMQ_CONFIG_FILE"] = dir.File("rabbitmq.conf"),
                ["RABBITMQ_ADVANCED_CONFIG_FILE"] = dir.File("advanced.config"),
                ["RABBITMQ_ENABLED_PLUGINS_FILE"] = dir.File("enabled_plugins"),
                ["RABBITMQ_CONF_ENV_FILE"] = dir.File("rabbitmq-env.conf"),
                ["RABBITMQ_PID_FILE"] = dir.File("rabbitmq.pid"),
                ["RUNNING_UNDER_SYSTEMD"] = "true",
            });
            await WaitUntilAsync(server.Broker, () => Task.FromResult(server.Broker.StdoutLines.Any(l => l.Contains("Server startup complete", StringComparison.Ordinal))),
                "reporting \"Server startup complete\"", cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The version from the package's app file (rabbitmqctl would need the node); "?" when not found.</summary>
    private static string ReadVersion()
    {
        try
        {
            var app = Directory.EnumerateDirectories("/usr/lib/rabbitmq/lib").Select(Path.GetFileName).FirstOrDefault(n => n!.StartsWith("rabbitmq_server-", StringComparison.Ordinal));
            return app?["rabbitmq_server-".Length..] ?? "?";
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
