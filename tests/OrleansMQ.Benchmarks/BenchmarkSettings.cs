namespace OrleansMQ.Benchmarks;

/// <summary>Which message log the silo under test uses.</summary>
internal enum StorageOption
{
    /// <summary>The file segment log (durable), with file grain state.</summary>
    File,

    /// <summary>The in-memory log and in-memory grain state (no durability; measures everything but the disk).</summary>
    Memory,

    /// <summary>Azure Storage: the append-blob log and Azure Table grain state (cluster mode), on Azurite unless a connection string is given.</summary>
    Azure,
}

/// <summary>When the file log forces data to disk (mirrors the file log's own fsync policy).</summary>
internal enum FsyncOption
{
    /// <summary>Every commit round is fsync'd before its appends are acknowledged (the broker default).</summary>
    Always,

    /// <summary>No fsync: acknowledged once in the OS page cache.</summary>
    Never,
}

/// <summary>Where the silos place the broker's grains (they carry no placement attribute, so the cluster default applies).</summary>
internal enum PlacementOption
{
    /// <summary>Orleans' default, resource-optimized placement (what a deployed broker gets).</summary>
    Default,

    /// <summary>Random placement: a new activation goes to a random compatible silo.</summary>
    Random,
}

/// <summary>Which subscription type the latency run consumes through.</summary>
internal enum SubscriptionOption
{
    /// <summary>Competing consumers with per-message acks (queue semantics).</summary>
    Shared,

    /// <summary>One consumer per partition with cumulative acks (stream semantics).</summary>
    Exclusive,
}

/// <summary>How the latency run's consumer acknowledges.</summary>
internal enum AckOption
{
    /// <summary><see cref="OrleansMQ.Client.Delivery.Ack"/>: not awaited, grouped per partition for the group time.</summary>
    Grouped,

    /// <summary><see cref="OrleansMQ.Client.Delivery.AckAsync"/>: each ack completes once durable (not awaited inline either).</summary>
    Confirmed,
}

/// <summary>Everything a run is configured with; printed in full before the results.</summary>
internal sealed record BenchmarkSettings
{
    public int Partitions { get; init; } = 8;

    public int Producers { get; init; } = 4;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Latency run: messages per second the paced producer publishes.</summary>
    public int Rate { get; init; } = 10_000;

    /// <summary>Body bytes per message.</summary>
    public int MessageSize { get; init; } = 100;

    /// <summary>Publish run: most unacknowledged publishes per producer.</summary>
    public int Window { get; init; } = 1000;

    public StorageOption Storage { get; init; } = StorageOption.File;

    public FsyncOption Fsync { get; init; } = FsyncOption.Always;

    /// <summary>File log: files fsync'd at once per commit round (1: one after another, the behaviour before parallel flushes).</summary>
    public int ParallelFlushes { get; init; } = OrleansMQ.Server.Storage.FileLogOptions.DefaultParallelFlushes;

    /// <summary>File log: the silo-wide journal (one flush per commit round); on by default, as in the silo.</summary>
    public bool Journal { get; init; } = true;

    public TimeSpan Linger { get; init; } = TimeSpan.Zero;

    public int MaxBatchMessages { get; init; } = 1000;

    /// <summary>Producer: most append batches in flight per partition (<see cref="OrleansMQ.Client.ProducerOptions.MaxInFlightBatches"/>).</summary>
    public int MaxInFlightBatches { get; init; } = 1;

    /// <summary>Latency run: consumer credit (unacknowledged deliveries it may hold, split across partitions).</summary>
    public int Prefetch { get; init; } = 1000;

    public SubscriptionOption Subscription { get; init; } = SubscriptionOption.Shared;

    /// <summary>Latency run: how the consumer acks: <see cref="AckOption"/>.</summary>
    public AckOption Ack { get; init; } = AckOption.Grouped;

    /// <summary>Latency run: <see cref="OrleansMQ.Client.ConsumerOptions.AckGroupTime"/>.</summary>
    public TimeSpan AckGroupTime { get; init; } = new OrleansMQ.Client.ConsumerOptions().AckGroupTime;

    /// <summary>Count grain calls and log appends in the silo (a grain call filter and a log decorator).</summary>
    public bool SiloStats { get; init; } = true;

    /// <summary>Silos in the cluster under test (all in this process, on loopback).</summary>
    public int Silos { get; init; } = 1;

    /// <summary>The cluster's default placement strategy (matters with more than one silo).</summary>
    public PlacementOption Placement { get; init; } = PlacementOption.Default;

    /// <summary>Routing run: measured rounds (every case runs once per round, in rotating order).</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Routing run: the cases to run (empty: all).</summary>
    public IReadOnlyList<string> Cases { get; init; } = [];

    /// <summary>The broker's <c>RoutingCacheTtl</c> (how long routers cache bindings, and how long a bind waits); null keeps its default (1 s).</summary>
    public TimeSpan? RoutingCacheTtl { get; init; }

    /// <summary>The broker's <c>RetentionInterval</c> (how often partitions delete what retention allows); null keeps its default (1 min).</summary>
    public TimeSpan? RetentionInterval { get; init; }

    /// <summary>
    /// <see cref="StorageOption.Azure"/>: the storage account to use (from <c>--azure-connection-string</c> or
    /// <c>OMQ_AZURE_CONNECTION_STRING</c>); null starts a private Azurite for the run.
    /// </summary>
    public string? AzureConnectionString { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> for values outside what the harness supports.</summary>
    public void Validate()
    {
        Check(Partitions is >= 1 and <= 1024, $"--partitions {Partitions} must be 1–1024.");
        Check(Producers is >= 1 and <= 256, $"--producers {Producers} must be 1–256.");
        Check(Warmup >= TimeSpan.Zero && Warmup <= TimeSpan.FromMinutes(5), $"--warmup {Warmup.TotalSeconds} s must be 0–300 s.");
        Check(Duration >= TimeSpan.FromSeconds(1) && Duration <= TimeSpan.FromMinutes(10), $"--duration {Duration.TotalSeconds} s must be 1–600 s.");
        Check(Rate is >= 1 and <= 1_000_000, $"--rate {Rate} must be 1–1000000 msg/s.");
        Check(MessageSize is >= 16 and <= 1024 * 1024, $"--message-size {MessageSize} must be 16 B – 1 MiB (the first 16 bytes carry a time stamp and a sequence number).");
        Check(Window is >= 1 and <= 100_000, $"--window {Window} must be 1–100000.");
        Check(MaxInFlightBatches is >= 1 and <= 100, $"--max-in-flight {MaxInFlightBatches} must be 1–100.");
        Check(MaxBatchMessages is >= 1 and <= 100_000, $"--max-batch {MaxBatchMessages} must be 1–100000.");
        Check(Rate * (Warmup + Duration).TotalSeconds <= 50_000_000, $"--rate {Rate} over {(Warmup + Duration).TotalSeconds} s would be more than 50 million messages; shorten the run.");
        Check(AckGroupTime >= TimeSpan.Zero && AckGroupTime <= TimeSpan.FromSeconds(1), $"--ack-group-ms {AckGroupTime.TotalMilliseconds} must be 0–1000.");
        Check(Prefetch is >= 1 and <= 10_000, $"--prefetch {Prefetch} must be 1–10000.");
        Check(Linger >= TimeSpan.Zero && Linger <= TimeSpan.FromSeconds(1), $"--linger-ms {Linger.TotalMilliseconds} must be 0–1000.");
        Check(Rounds is >= 1 and <= 20, $"--rounds {Rounds} must be 1–20.");
        Check(Silos is >= 1 and <= 8, $"--silos {Silos} must be 1–8.");
        Check(AzureConnectionString is null || Storage == StorageOption.Azure, "--azure-connection-string applies to --storage azure only.");
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
