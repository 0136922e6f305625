using System.CommandLine;
using OrleansMQ.Cli.Parsing;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// An option whose value is a duration in the CLI's notation (<c>10s</c>, <c>7d</c>). The default is applied by
/// <see cref="ValueIn"/> and named in the description, because System.CommandLine's help would print it as
/// <c>00:00:10</c>.
/// </summary>
internal sealed class DurationOption : Option<TimeSpan?>
{
    public DurationOption(string name, string description, TimeSpan defaultValue) : base(name)
    {
        Description = $"{description} [default: {Durations.Format(defaultValue)}]";
        HelpName = "duration";
        CustomParser = OptionParsers.OptionalDuration;
        Default = defaultValue;
    }

    public TimeSpan Default { get; }

    public TimeSpan ValueIn(ParseResult parse) => parse.GetValue(this) ?? Default;
}

/// <summary>A duration option that also takes <c>none</c> (no limit: null).</summary>
internal sealed class OptionalDurationOption : Option<TimeSpan?>
{
    public OptionalDurationOption(string name, string description, TimeSpan? defaultValue) : base(name)
    {
        Description = defaultValue is { } d ? $"{description} [default: {Durations.Format(d)}]" : description;
        HelpName = "duration|none";
        // "none" parses to InfiniteTimeSpan (.NET's "no timeout"), so it differs from the option being absent.
        CustomParser = OptionParsers.DurationOrInfinite;
        Default = defaultValue;
    }

    public TimeSpan? Default { get; }

    public TimeSpan? ValueIn(ParseResult parse) => parse.GetValue(this) switch
    {
        null => Default,
        { } value when value == Timeout.InfiniteTimeSpan => null,
        { } value => value,
    };
}
