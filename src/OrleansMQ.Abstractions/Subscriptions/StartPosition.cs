namespace OrleansMQ;

/// <summary>Where a new subscription (or a seek) starts reading.</summary>
[GenerateSerializer, Immutable, Alias("omq.start")]
public sealed record StartPosition
{
    /// <summary>Which kind of position.</summary>
    [Id(0)] public StartKind Kind { get; init; }

    /// <summary>For <see cref="StartKind.Offset"/>: the offset (clamped to the retained range).</summary>
    [Id(1)] public long Offset { get; init; }

    /// <summary>For <see cref="StartKind.Timestamp"/>: the first message at or after this time.</summary>
    [Id(2)] public DateTimeOffset Timestamp { get; init; }

    /// <summary>The oldest retained message.</summary>
    public static StartPosition Earliest { get; } = new() { Kind = StartKind.Earliest };

    /// <summary>Only messages published after the subscription is created.</summary>
    public static StartPosition Latest { get; } = new() { Kind = StartKind.Latest };

    /// <summary>A given offset in every partition.</summary>
    public static StartPosition AtOffset(long offset) => offset < 0
        ? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Start offset {offset} must be ≥ 0.")
        : new() { Kind = StartKind.Offset, Offset = offset };

    /// <summary>The first message whose timestamp is at or after <paramref name="timestamp"/>.</summary>
    public static StartPosition AtTimestamp(DateTimeOffset timestamp) => new() { Kind = StartKind.Timestamp, Timestamp = timestamp };
}

/// <summary>The kinds of <see cref="StartPosition"/>.</summary>
public enum StartKind
{
    /// <summary>Oldest retained.</summary>
    Earliest = 0,
    /// <summary>Newest (end of log).</summary>
    Latest = 1,
    /// <summary>An explicit offset.</summary>
    Offset = 2,
    /// <summary>A point in time.</summary>
    Timestamp = 3,
}
