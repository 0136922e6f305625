using System.CommandLine;
using OrleansMQ.Cli.Parsing;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// An option whose value is a subscription position (<c>earliest</c>, <c>latest</c>, <c>offset:N</c>, <c>time:…</c>,
/// <c>ago:…</c>). The default is applied by <see cref="ValueIn"/> and named in the description.
/// </summary>
internal sealed class PositionOption : Option<StartPosition?>
{
    public PositionOption(string name, string description, StartPosition defaultValue) : base(name)
    {
        Description = $"{description} [default: {StartPositions.Format(defaultValue)}]";
        HelpName = "position";
        CustomParser = OptionParsers.Position;
        Default = defaultValue;
    }

    public StartPosition Default { get; }

    public StartPosition ValueIn(ParseResult parse) => parse.GetValue(this) ?? Default;
}
