using System.CommandLine.Parsing;
using OrleansMQ.Cli.Parsing;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// System.CommandLine custom parsers for the CLI's value notations. A value that does not parse becomes a parse error,
/// so it is reported like any other usage error (exit code 2) before omq connects.
/// </summary>
internal static class OptionParsers
{
    public static TimeSpan? OptionalDuration(ArgumentResult result) => Parse<TimeSpan?>(result, s => Durations.Parse(s));

    /// <summary>A duration, or <c>none</c>/<c>infinite</c> for no limit (<see cref="Timeout.InfiniteTimeSpan"/>).</summary>
    public static TimeSpan? DurationOrInfinite(ArgumentResult result) =>
        Parse<TimeSpan?>(result, s => s.Trim().ToLowerInvariant() is "none" or "infinite" or "unlimited" ? Timeout.InfiniteTimeSpan : Durations.Parse(s));

    public static long? OptionalByteSize(ArgumentResult result) => Parse<long?>(result, s => ByteSizes.Parse(s));

    public static StartPosition? Position(ArgumentResult result) =>
        Parse<StartPosition?>(result, s => StartPositions.Parse(s, DateTimeOffset.UtcNow));

    public static Dictionary<string, string> Headers(ArgumentResult result)
    {
        try
        {
            return HeaderPairs.Parse(result.Tokens.Select(t => t.Value));
        }
        catch (FormatException ex)
        {
            result.AddError(ex.Message);
            return [];
        }
    }

    private static T Parse<T>(ArgumentResult result, Func<string, T> parse)
    {
        if (result.Tokens.Count == 0)
        {
            return default!;
        }

        try
        {
            return parse(result.Tokens[^1].Value);
        }
        catch (Exception ex) when (ex is FormatException or OrleansMQException)
        {
            result.AddError(ex.Message);
            return default!;
        }
    }
}
