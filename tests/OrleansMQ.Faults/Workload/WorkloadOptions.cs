namespace OrleansMQ.Faults.Workload;

/// <summary>One subscription the workload consumes: its name, type and number of consumers.</summary>
/// <param name="Name">Subscription name.</param>
/// <param name="Type">Exclusive, Failover, Shared or KeyShared.</param>
/// <param name="Consumers">How many consumers compete on it (1 for Exclusive).</param>
public sealed record SubscriptionPlan(string Name, SubscriptionType Type, int Consumers)
{
    /// <summary>Parses "name:Type:consumers", e.g. "ex:Exclusive:1" or "ks:KeyShared:2".</summary>
    public static SubscriptionPlan Parse(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 3 && Enum.TryParse<SubscriptionType>(parts[1], ignoreCase: true, out var type) && int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var consumers) && consumers > 0
            ? new SubscriptionPlan(parts[0], type, consumers)
            : throw new FormatException($"'{text}' is not a subscription plan (name:Type:consumers, e.g. ks:KeyShared:2).");
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}:{Type}:{Consumers}";
}

/// <summary>What one workload run does.</summary>
public sealed record WorkloadOptions
{
    /// <summary>Gateway ports on 127.0.0.1.</summary>
    public required IReadOnlyList<int> Gateways { get; init; }

    /// <summary>The topic (created when missing).</summary>
    public required string Topic { get; init; }

    /// <summary>Partitions of the topic when it is created.</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>Names the run's producers: "{RunId}-p{i}". Every run must have its own.</summary>
    public required string RunId { get; init; }

    /// <summary>Concurrent producers (each an idempotent producer with its own id).</summary>
    public int Producers { get; init; } = 2;

    /// <summary>Messages per producer.</summary>
    public int Messages { get; init; } = 1000;

    /// <summary>Publishes per second per producer (0: as fast as the window allows), so a run spans the nemesis' faults.</summary>
    public int Rate { get; init; } = 200;

    /// <summary>Unacknowledged publishes per producer at most.</summary>
    public int Window { get; init; } = 64;

    /// <summary>Distinct keys per producer.</summary>
    public int Keys { get; init; } = 8;

    /// <summary>Body size in bytes.</summary>
    public int BodySize { get; init; } = 100;

    /// <summary>The subscriptions consumed while publishing (all from the earliest offset).</summary>
    public IReadOnlyList<SubscriptionPlan> Subscriptions { get; init; } = [];

    /// <summary>How long consumers keep going after publishing ended, waiting for every acknowledged message.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a publish retries before it is given up (its outcome is then unknown).</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The folder the histories go to: publishes.jsonl and deliveries.jsonl (appended to).</summary>
    public required string OutputDirectory { get; init; }
}
