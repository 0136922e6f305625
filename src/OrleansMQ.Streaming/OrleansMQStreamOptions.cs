using Microsoft.Extensions.Options;

namespace OrleansMQ.Streaming;

/// <summary>
/// Options of an OrleansMQ stream provider. The provider keeps every stream of every namespace in one topic whose
/// partitions are the provider's queues: Orleans' queue balancer needs a fixed set of queues when the silo starts.
/// </summary>
public sealed class OrleansMQStreamOptions
{
    /// <summary>The topic; default <c>orleans.streams.{provider name}</c>. Created with <see cref="Partitions"/> partitions when missing.</summary>
    public string? Topic { get; set; }

    /// <summary>Partitions of the topic = queues of the provider (1–1024). Default 8. Must match an existing topic.</summary>
    public int Partitions { get; set; } = 8;

    /// <summary>Retention of the topic (how far back a stream can be rewound). Default: 7 days.</summary>
    public RetentionPolicy Retention { get; set; } = RetentionPolicy.Default;

    /// <summary>The durable (Exclusive) subscription whose cursor records what the pulling agents delivered. Default <c>orleans-streams</c>.</summary>
    public string Subscription { get; set; } = "orleans-streams";

    /// <summary>Most messages a pulling agent reads from a partition per poll (1–10000). Default 512.</summary>
    public int ReadBatchSize { get; set; } = 512;

    /// <summary>Most messages one rewind reads from the log per poll (1–10000). Default 1000.</summary>
    public int ReplayBatchSize { get; set; } = 1000;

    /// <summary>Messages kept in a queue's cache before the agent stops reading (back pressure). Default 16384.</summary>
    public int MaxCachedMessages { get; set; } = 16_384;

    /// <summary>The topic the provider uses.</summary>
    public string TopicFor(string providerName) => Topic ?? $"orleans.streams.{providerName}";
}

/// <summary>Validates <see cref="OrleansMQStreamOptions"/>.</summary>
internal sealed class OrleansMQStreamOptionsValidator : IValidateOptions<OrleansMQStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansMQStreamOptions options)
    {
        var errors = new List<string>();
        try
        {
            Names.Validate(options.TopicFor(name ?? "default"), "topic");
            Names.Validate(options.Subscription, "subscription");
        }
        catch (OrleansMQException ex)
        {
            errors.Add(ex.Message);
        }

        if (options.Partitions is < 1 or > TopicSpec.MaxPartitions)
        {
            errors.Add($"Partitions is {options.Partitions}; it must be 1–{TopicSpec.MaxPartitions}.");
        }

        if (options.ReadBatchSize is < 1 or > 10_000 || options.ReplayBatchSize is < 1 or > 10_000)
        {
            errors.Add($"ReadBatchSize ({options.ReadBatchSize}) and ReplayBatchSize ({options.ReplayBatchSize}) must be 1–10000.");
        }

        if (options.MaxCachedMessages < options.ReadBatchSize)
        {
            errors.Add($"MaxCachedMessages ({options.MaxCachedMessages}) must be ≥ ReadBatchSize ({options.ReadBatchSize}).");
        }

        if (options.Retention is null)
        {
            errors.Add("Retention is required.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
