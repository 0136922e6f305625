namespace OrleansMQ.Faults.Nemesis;

/// <summary>How big and how random one scenario run is.</summary>
public sealed record FaultRunSettings
{
    /// <summary>The seed of the nemesis schedule (which silo, when, how long, which bytes). Printed in every report.</summary>
    public required int Seed { get; init; }

    /// <summary>Where histories, silo data and the report go.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Concurrent idempotent producers.</summary>
    public int Producers { get; init; } = 2;

    /// <summary>Messages per producer (per workload run).</summary>
    public int MessagesPerProducer { get; init; } = 1500;

    /// <summary>Publishes per second per producer: with <see cref="MessagesPerProducer"/> this sets how long publishing lasts.</summary>
    public int Rate { get; init; } = 150;

    /// <summary>Topic partitions.</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>Distinct message keys per producer (the key picks the partition).</summary>
    public int Keys { get; init; } = 8;

    /// <summary>At most this many nemesis actions (kills, pauses, membership changes) per scenario; CI keeps it small.</summary>
    public int MaxFaults { get; init; } = int.MaxValue;

    /// <summary>The Azure Storage (Azurite) connection string for the cluster scenarios.</summary>
    public string? AzureConnectionString { get; init; }

    /// <summary>Progress lines (the test output or the console).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>How long publishing lasts at <see cref="Rate"/>.</summary>
    public TimeSpan PublishDuration => TimeSpan.FromSeconds((double)MessagesPerProducer / Math.Max(1, Rate));
}
