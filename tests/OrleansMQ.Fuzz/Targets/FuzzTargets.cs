namespace OrleansMQ.Fuzz.Targets;

/// <summary>Every fuzz target, by name.</summary>
internal static class FuzzTargets
{
    /// <summary>The target names, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } = [LogRecordTarget.TargetName, SegmentTarget.TargetName, StompFrameTarget.TargetName, StompHeaderTarget.TargetName, FilterTarget.TargetName];

    /// <summary>Creates the target called <paramref name="name"/>.</summary>
    public static IFuzzTarget Create(string name) => name switch
    {
        LogRecordTarget.TargetName => new LogRecordTarget(),
        SegmentTarget.TargetName => new SegmentTarget(),
        StompFrameTarget.TargetName => new StompFrameTarget(),
        StompHeaderTarget.TargetName => new StompHeaderTarget(),
        FilterTarget.TargetName => new FilterTarget(),
        _ => throw new ArgumentException($"Unknown fuzz target '{name}'; the targets are: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>Runs one input; false (with the exception) when it is a finding.</summary>
    public static bool TryRun(IFuzzTarget target, ReadOnlySpan<byte> data, out Exception? finding)
    {
        try
        {
            target.Run(data);
        }
        catch (Exception ex) when (target.IsExpected(ex))
        {
        }
        catch (Exception ex)
        {
            finding = ex;
            return false;
        }

        finding = null;
        return true;
    }
}
