using System.CommandLine;
using OrleansMQ.Benchmarks;
using OrleansMQ.Benchmarks.Micro;
using OrleansMQ.Benchmarks.Scenarios;

// OrleansMQ load harness. Run in Release:
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- publish [--partitions 8 --producers 4 --duration 10 ...]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- latency [--rate 10000 ...]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- publish --storage azure --silos 3   (a private Azurite)
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- routing [--rounds 3 --duration 5 ...]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- backlog-memory [--messages 1000000 --consume-rate 200 ...]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- micro [BenchmarkDotNet arguments, e.g. --filter *Codec*]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- state-checkpoint [--grains 1000 --repetitions 5 ...]
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- gateway   (.NET client vs HTTP REST vs STOMP/TCP against one silo-host process)
//   dotnet run -c Release --project tests/OrleansMQ.Benchmarks -- peers --mode quick   (scripts/bench-peers.sh installs and starts the peer servers)
const string AzureConnectionStringVariable = "OMQ_AZURE_CONNECTION_STRING";
var defaults = new BenchmarkSettings();
var partitions = new Option<int>("--partitions") { Description = "Partitions of the benchmark topic.", DefaultValueFactory = _ => defaults.Partitions };
var producers = new Option<int>("--producers") { Description = "publish: concurrent producers.", DefaultValueFactory = _ => defaults.Producers };
var duration = new Option<double>("--duration") { Description = "Measured seconds (after the warm-up).", DefaultValueFactory = _ => defaults.Duration.TotalSeconds };
var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds (load runs, nothing is counted).", DefaultValueFactory = _ => defaults.Warmup.TotalSeconds };
var rate = new Option<int>("--rate") { Description = "latency: messages per second the paced producer publishes.", DefaultValueFactory = _ => defaults.Rate };
var messageSize = new Option<int>("--message-size") { Description = "Body bytes per message (≥ 16).", DefaultValueFactory = _ => defaults.MessageSize };
var window = new Option<int>("--window") { Description = "publish: most unacknowledged publishes per producer.", DefaultValueFactory = _ => defaults.Window };
var storage = new Option<StorageOption>("--storage") { Description = "Log + state: file (durable, the broker default), memory, or azure (Azure Storage; a private Azurite unless a connection string is given).", DefaultValueFactory = _ => defaults.Storage };
var fsync = new Option<FsyncOption>("--fsync") { Description = "File log fsync policy: always (default) or never.", DefaultValueFactory = _ => defaults.Fsync };
var parallelFlushes = new Option<int>("--parallel-flushes") { Description = "File log: files fsync'd at once per commit round (1: one after another).", DefaultValueFactory = _ => defaults.ParallelFlushes };
var journal = new Option<bool>("--journal") { Description = "File log: one silo-wide journal flush per commit round instead of one fsync per partition file (OrleansMQ:FileLogJournal; default true, as in the silo; --journal false for one fsync per file).", DefaultValueFactory = _ => defaults.Journal };
var linger = new Option<double>("--linger-ms") { Description = "Producer linger in milliseconds (0: send at once, batch while a send is in flight).", DefaultValueFactory = _ => defaults.Linger.TotalMilliseconds };
var maxBatch = new Option<int>("--max-batch") { Description = "Producer: most messages per partition batch.", DefaultValueFactory = _ => defaults.MaxBatchMessages };
var maxInFlight = new Option<int>("--max-in-flight") { Description = "Producer: most append batches in flight per partition (1: the pre-pipelining producer).", DefaultValueFactory = _ => defaults.MaxInFlightBatches };
var prefetch = new Option<int>("--prefetch") { Description = "latency: consumer credit (unacked deliveries held, split across partitions).", DefaultValueFactory = _ => defaults.Prefetch };
var ack = new Option<AckOption>("--ack") { Description = "latency: grouped (Delivery.Ack, not confirmed, as RabbitMQ's basic.ack) or confirmed (Delivery.AckAsync, each ack durable before it completes).", DefaultValueFactory = _ => defaults.Ack };
var ackGroup = new Option<double>("--ack-group-ms") { Description = "latency: ConsumerOptions.AckGroupTime for grouped acks, in milliseconds.", DefaultValueFactory = _ => defaults.AckGroupTime.TotalMilliseconds };
var subscription = new Option<SubscriptionOption>("--subscription") { Description = "latency: subscription type, shared or exclusive.", DefaultValueFactory = _ => defaults.Subscription };
var silos = new Option<int>("--silos") { Description = "Silos in the cluster under test (one process, loopback; the client connects to every gateway).", DefaultValueFactory = _ => defaults.Silos };
var placement = new Option<PlacementOption>("--placement")
{
    Description = "Default placement strategy of the silos: default (Orleans' resource-optimized placement) or random.",
    DefaultValueFactory = _ => defaults.Placement,
};
var azureConnectionString = new Option<string?>("--azure-connection-string")
{
    Description = "--storage azure: the storage account (default: $" + AzureConnectionStringVariable + "; when neither is set, a private Azurite from .tools/azurite is started for the run).",
};
var rounds = new Option<int>("--rounds") { Description = "routing: measured rounds (each runs every case once, in rotating order).", DefaultValueFactory = _ => defaults.Rounds };
var cases = new Option<string[]>("--cases") { Description = "routing: run only these cases (direct, exchange-100, exchange-100+3tx, fanout-1, fanout-10); ratios need both of their cases.", AllowMultipleArgumentsPerToken = true };
var siloStats = new Option<bool>("--silo-stats") { Description = "Count grain calls and time log appends in the silo.", DefaultValueFactory = _ => defaults.SiloStats };
// Off by default for routing: its report uses neither, and the filter and the log decorator cost every partition call
// and append, of which a 10-way fan-out makes ten per batch where a single delivery makes one.
var routingSiloStats = new Option<bool>("--silo-stats") { Description = "Count grain calls and time log appends in the silo (routing reports neither).", DefaultValueFactory = _ => false };

// Options a command does not declare keep their defaults (GetValue would answer default(T) for them).
T Get<T>(ParseResult r, Option<T> option, T fallback) => r.CommandResult.Command.Options.Contains(option) ? r.GetValue(option)! : fallback;

BenchmarkSettings Settings(ParseResult r) => new()
{
    Partitions = Get(r, partitions, defaults.Partitions),
    Producers = Get(r, producers, defaults.Producers),
    Duration = TimeSpan.FromSeconds(Get(r, duration, defaults.Duration.TotalSeconds)),
    Warmup = TimeSpan.FromSeconds(Get(r, warmup, defaults.Warmup.TotalSeconds)),
    Rate = Get(r, rate, defaults.Rate),
    MessageSize = Get(r, messageSize, defaults.MessageSize),
    Window = Get(r, window, defaults.Window),
    Storage = Get(r, storage, defaults.Storage),
    Fsync = Get(r, fsync, defaults.Fsync),
    ParallelFlushes = Get(r, parallelFlushes, defaults.ParallelFlushes),
    Journal = r.GetValue(journal),
    Linger = TimeSpan.FromMilliseconds(Get(r, linger, defaults.Linger.TotalMilliseconds)),
    MaxBatchMessages = Get(r, maxBatch, defaults.MaxBatchMessages),
    MaxInFlightBatches = Get(r, maxInFlight, defaults.MaxInFlightBatches),
    Prefetch = Get(r, prefetch, defaults.Prefetch),
    Subscription = Get(r, subscription, defaults.Subscription),
    Ack = Get(r, ack, defaults.Ack),
    AckGroupTime = TimeSpan.FromMilliseconds(Get(r, ackGroup, defaults.AckGroupTime.TotalMilliseconds)),
    SiloStats = Get(r, routingSiloStats, Get(r, siloStats, defaults.SiloStats)),
    Silos = Get(r, silos, defaults.Silos),
    Placement = Get(r, placement, defaults.Placement),
    Rounds = Get(r, rounds, defaults.Rounds),
    Cases = r.CommandResult.Command.Options.Contains(cases) ? [.. (r.GetValue(cases) ?? []).SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))] : [],
    AzureConnectionString = Get(r, storage, defaults.Storage) == StorageOption.Azure
        ? NullIfEmpty(Get(r, azureConnectionString, null)) ?? NullIfEmpty(Environment.GetEnvironmentVariable(AzureConnectionStringVariable))
        : Get(r, azureConnectionString, null),
};

static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

// Bad option values end the run with a one-line message and exit code 2, before anything starts.
async Task<int> RunAsync(ParseResult r, Func<BenchmarkSettings, CancellationToken, Task<int>> scenario, CancellationToken cancellationToken)
{
    BenchmarkSettings settings;
    try
    {
        settings = Settings(r);
        settings.Validate();
    }
    catch (ArgumentException ex)
    {
        await Console.Error.WriteLineAsync($"error: {ex.Message}");
        return 2;
    }

    try
    {
        return await scenario(settings, cancellationToken);
    }
    catch (OrleansMQ.Benchmarks.Harness.HarnessSetupException ex)
    {
        await Console.Error.WriteLineAsync($"error: {ex.Message}");
        return 2;
    }
}

var publish = new Command("publish", "Durable publish throughput: N producers, a bounded window each, as fast as acks come back.")
{
    partitions, producers, duration, warmup, messageSize, window, storage, fsync, parallelFlushes, journal, linger, maxBatch, maxInFlight, siloStats, silos, placement, azureConnectionString,
};
publish.SetAction((r, ct) => RunAsync(r, PublishScenario.RunAsync, ct));

var latency = new Command("latency", "End-to-end latency at a fixed publish rate, measured from each message's scheduled send time.")
{
    partitions, duration, warmup, rate, messageSize, storage, fsync, parallelFlushes, journal, linger, maxBatch, maxInFlight, prefetch, ack, ackGroup, subscription, siloStats, silos, placement, azureConnectionString,
};
latency.SetAction((r, ct) => RunAsync(r, LatencyScenario.RunAsync, ct));

var routing = new Command("routing", "Routing overhead as ratios: direct vs a topic exchange with 100 bindings (with and without transforms), fan-out to 1 vs 10 queues; interleaved rounds.")
{
    partitions, producers, duration, warmup, messageSize, window, storage, fsync, journal, linger, maxBatch, routingSiloStats, rounds, cases,
};
routing.SetAction((r, ct) => RunAsync(r, RoutingScenario.RunAsync, ct));

var micro = new Command("micro", "BenchmarkDotNet micro-benchmarks (record codec, in-memory log append); further arguments go to BenchmarkDotNet.")
{
    TreatUnmatchedTokensAsErrors = false,
};
micro.SetAction(r => MicroBenchmarks.Run([.. r.UnmatchedTokens]));

var backlogMessages = new Option<int>("--messages") { Description = "backlog-memory: messages published into the backlog.", DefaultValueFactory = _ => 1_000_000 };
var consumeRate = new Option<int>("--consume-rate") { Description = "backlog-memory: the slow consumer's messages per second.", DefaultValueFactory = _ => 200 };
var hold = new Option<double>("--hold") { Description = "backlog-memory: seconds to keep sampling after the backlog is published.", DefaultValueFactory = _ => 30 };
var sampleEvery = new Option<double>("--sample-interval") { Description = "backlog-memory: seconds between RSS samples.", DefaultValueFactory = _ => 5 };
var delay = new Option<double>("--delay") { Description = "backlog-memory: publish every message with this delay in seconds (a delayed backlog); 0 = not delayed.", DefaultValueFactory = _ => 0 };
var maxScheduled = new Option<int>("--max-scheduled") { Description = "backlog-memory: the silo's OrleansMQ:MaxScheduledInMemory; 0 = its default.", DefaultValueFactory = _ => 0 };
var backlogMemory = new Command("backlog-memory", "Silo-host (child process) RSS while a slow consumer faces a large backlog: samples /proc/<pid>/status VmRSS.")
{
    backlogMessages, messageSize, partitions, consumeRate, hold, sampleEvery, fsync, delay, maxScheduled,
};
backlogMemory.SetAction((r, ct) => BacklogMemoryScenario.RunAsync(
    new BacklogMemoryScenario.Settings(r.GetValue(backlogMessages), r.GetValue(messageSize), r.GetValue(partitions), r.GetValue(consumeRate),
        TimeSpan.FromSeconds(r.GetValue(hold)), TimeSpan.FromSeconds(r.GetValue(sampleEvery)), r.GetValue(fsync) == FsyncOption.Always,
        TimeSpan.FromSeconds(r.GetValue(delay)), r.GetValue(maxScheduled)),
    ct));

var stateGrains = new Option<int>("--grains") { Description = "state-checkpoint: grain states written each round.", DefaultValueFactory = _ => 1000 };
var stateRounds = new Option<int>("--rounds") { Description = "state-checkpoint: rounds (every grain state written once each).", DefaultValueFactory = _ => 12 };
var stateRepetitions = new Option<int>("--repetitions") { Description = "state-checkpoint: runs, each on a fresh directory.", DefaultValueFactory = _ => 5 };
var stateJournalKiB = new Option<int>("--journal-kib") { Description = "state-checkpoint: the journal's size in KiB (the silo's default is 16384).", DefaultValueFactory = _ => 1024 };
var stateMinThreads = new Option<int>("--min-threads") { Description = "state-checkpoint: the thread pool's minimum worker threads; 0 = the runtime's default.", DefaultValueFactory = _ => 0 };
var stateRate = new Option<int>("--rate") { Description = "state-checkpoint: writes per second (paced); 0 = as fast as they complete.", DefaultValueFactory = _ => 0 };
var stateCheckpoint = new Command("state-checkpoint", "Grain-state write latency while the grain-state journal checkpoints (file grain storage, no silo).")
{
    stateGrains, stateRounds, stateRepetitions, stateJournalKiB, stateMinThreads, stateRate,
};
stateCheckpoint.SetAction((r, ct) => StateCheckpointScenario.RunAsync(
    new StateCheckpointScenario.Settings(r.GetValue(stateGrains), r.GetValue(stateRounds), r.GetValue(stateRepetitions), r.GetValue(stateJournalKiB) * 1024L, r.GetValue(stateMinThreads), r.GetValue(stateRate)), ct));

var mode = new Option<OrleansMQ.Benchmarks.Peers.RunMode>("--mode") { Description = "peers: full (workload files as written), quick (a few seconds each, < 5 min) or smoke (~2 s each, CI).", DefaultValueFactory = _ => OrleansMQ.Benchmarks.Peers.RunMode.Quick };
var workloads = new Option<string[]>("--workloads") { Description = "peers: workload name prefixes (W1, W2-max-throughput-100B, ...); default: the mode's set.", AllowMultipleArgumentsPerToken = true };
var servers = new Option<string[]>("--servers") { Description = "peers: servers to run (orleansmq, rabbitmq, redis, nats); default: all.", AllowMultipleArgumentsPerToken = true };
var output = new Option<string>("--out") { Description = "peers: report directory (report.md, report.json, *.png).", DefaultValueFactory = _ => "peers-report" };
var note = new Option<string?>("--note") { Description = "peers: a line for the report header (e.g. the machine's load)." };
var peers = new Command("peers", "OrleansMQ vs RabbitMQ, Redis Streams and NATS JetStream: OpenMessaging-style workloads against real servers started as child processes.")
{
    mode, workloads, servers, output, note,
};
peers.SetAction((r, ct) => OrleansMQ.Benchmarks.Peers.PeersBenchmark.RunAsync(new OrleansMQ.Benchmarks.Peers.PeersSettings
{
    Mode = r.GetValue(mode),
    Workloads = [.. (r.GetValue(workloads) ?? []).SelectMany(w => w.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
    Servers = r.GetValue(servers) is { Length: > 0 } chosen
        ? [.. chosen.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))]
        : OrleansMQ.Benchmarks.Peers.PeersSettings.AllServers,
    OutputDirectory = r.GetValue(output)!,
    Note = r.GetValue(note),
}, ct));

var gatewayDefaults = new OrleansMQ.Benchmarks.Gateway.GatewaySettings();
var gatewayDuration = new Option<double>("--duration") { Description = "gateway: measured seconds per run.", DefaultValueFactory = _ => gatewayDefaults.DurationSeconds };
var gatewayWarmup = new Option<double>("--warmup") { Description = "gateway: warm-up seconds per run.", DefaultValueFactory = _ => gatewayDefaults.WarmupSeconds };
var gatewayRate = new Option<int>("--rate") { Description = "gateway: messages per second of the fixed-rate latency runs.", DefaultValueFactory = _ => gatewayDefaults.Rate };
var gateway = new Command("gateway", "Gateway overhead: max durable publish throughput and end-to-end latency at a fixed rate through the .NET client, HTTP REST and STOMP over TCP, against one silo-host process.")
{
    gatewayDuration, gatewayWarmup, gatewayRate,
};
gateway.SetAction((r, ct) => OrleansMQ.Benchmarks.Gateway.GatewayBenchmark.RunAsync(new OrleansMQ.Benchmarks.Gateway.GatewaySettings
{
    DurationSeconds = r.GetValue(gatewayDuration),
    WarmupSeconds = r.GetValue(gatewayWarmup),
    Rate = r.GetValue(gatewayRate),
}, ct));

var root = new RootCommand("OrleansMQ load harness: in-process silos and an Orleans client over loopback; peers: the same workloads against RabbitMQ, Redis and NATS.") { publish, latency, routing, micro, backlogMemory, stateCheckpoint, peers, gateway };
return await root.Parse(args).InvokeAsync();
