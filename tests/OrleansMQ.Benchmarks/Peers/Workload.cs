using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>
/// An OpenMessaging-Benchmark-style workload, read from a JSON file in <c>Peers/workloads/</c>. Field names follow OMB
/// (<c>topics</c>, <c>partitionsPerTopic</c>, …); <see cref="NackPercent"/> is an addition for W6.
/// </summary>
internal sealed record Workload
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The workload's name (the file name without <c>.json</c>).</summary>
    public required string Name { get; init; }

    /// <summary>What it measures, one line.</summary>
    public string Description { get; init; } = "";

    public int Topics { get; init; } = 1;

    public int PartitionsPerTopic { get; init; } = 1;

    /// <summary>Body bytes (≥ 24: intended send time, sequence number and producer are written into it).</summary>
    public int MessageSize { get; init; } = 100;

    public int ProducersPerTopic { get; init; } = 1;

    public int SubscriptionsPerTopic { get; init; } = 1;

    public int ConsumersPerSubscription { get; init; } = 1;

    /// <summary>Messages per second over all producers and topics; 0 = as fast as acknowledgements come back.</summary>
    public int ProducerRate { get; init; }

    /// <summary>When &gt; 0: publish this many messages with no consumer running, then drain them (W5).</summary>
    public long BacklogSize { get; init; }

    public double DurationSeconds { get; init; }

    public double WarmupSeconds { get; init; }

    /// <summary>Percent of first deliveries the consumers nack (requeue), W6.</summary>
    public double NackPercent { get; init; }

    /// <summary>Max-rate runs: most unacknowledged publishes per producer.</summary>
    public int MaxOutstandingPerProducer { get; init; } = 1000;

    [JsonIgnore]
    public bool FixedRate => ProducerRate > 0;

    [JsonIgnore]
    public bool IsBacklog => BacklogSize > 0;

    [JsonIgnore]
    public int TotalConsumers => Topics * SubscriptionsPerTopic * ConsumersPerSubscription;

    public static Workload Load(string path)
    {
        var workload = JsonSerializer.Deserialize<Workload>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path}: empty workload file.");
        workload.Validate(path);
        return workload;
    }

    /// <summary>The workload files shipped next to the harness (copied to the output's <c>workloads/</c>).</summary>
    public static IReadOnlyList<Workload> LoadAll(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal).Select(Load)];

    /// <summary>
    /// The workload shortened for a mode: <c>quick</c> keeps its shape with 1 s warm-up, 4 s measured, at most 100
    /// topics and a 50k backlog; <c>smoke</c> 0.5 s + 1.5 s, a tenth of the rate (≥ 200 msg/s), 10 topics, 5k backlog.
    /// </summary>
    public Workload ForMode(RunMode mode) => mode switch
    {
        RunMode.Full => this,
        RunMode.Quick => this with
        {
            WarmupSeconds = Math.Min(WarmupSeconds, 1),
            DurationSeconds = Math.Min(DurationSeconds, 4),
            Topics = Math.Min(Topics, 100),
            ProducerRate = Topics > 100 ? ProducerRate * 100 / Topics : ProducerRate,
            BacklogSize = Math.Min(BacklogSize, 50_000),
        },
        RunMode.Smoke => this with
        {
            WarmupSeconds = Math.Min(WarmupSeconds, 0.5),
            DurationSeconds = Math.Min(DurationSeconds, 1.5),
            Topics = Math.Min(Topics, 10),
            ProducerRate = ProducerRate == 0 ? 0 : Math.Max(200, ProducerRate / 10),
            BacklogSize = Math.Min(BacklogSize, 5_000),
            MaxOutstandingPerProducer = Math.Min(MaxOutstandingPerProducer, 100),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    private void Validate(string source)
    {
        void Check(bool ok, string what)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{source}: {what}");
            }
        }

        Check(!string.IsNullOrWhiteSpace(Name), "name is required.");
        Check(Topics >= 1 && PartitionsPerTopic >= 1, "topics and partitionsPerTopic must be ≥ 1.");
        Check(MessageSize >= WorkloadRunner.HeaderBytes, $"messageSize must be ≥ {WorkloadRunner.HeaderBytes}.");
        Check(ProducersPerTopic >= 1 && SubscriptionsPerTopic >= 1 && ConsumersPerSubscription >= 1, "producers, subscriptions and consumers per topic must be ≥ 1.");
        Check(ProducerRate >= 0 && BacklogSize >= 0 && NackPercent is >= 0 and < 100, "producerRate, backlogSize ≥ 0; nackPercent in [0, 100).");
        Check(IsBacklog || DurationSeconds > 0, "durationSeconds must be > 0 (unless backlogSize > 0).");
        Check(MaxOutstandingPerProducer >= 1, "maxOutstandingPerProducer must be ≥ 1.");
    }
}

/// <summary>How long each workload runs: <c>full</c> as written, <c>quick</c> a few seconds, <c>smoke</c> ~2 s (CI).</summary>
internal enum RunMode
{
    Full,
    Quick,
    Smoke,
}
