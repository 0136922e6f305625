namespace OrleansMQ.Cli.Views;

/// <summary>An exchange with its bindings.</summary>
internal sealed record ExchangeSummaryView(string Name, string Type, int Bindings, string? AlternateTopic, string? AlternateExchange);

internal sealed record ExchangeView(string Name, string Type, string? AlternateTopic, string? AlternateExchange, long Version, IReadOnlyList<BindingView> Bindings);

/// <summary>One binding; <see cref="Headers"/> and <see cref="Match"/> only matter to headers exchanges.</summary>
internal sealed record BindingView(
    string Destination,
    string Key,
    IReadOnlyDictionary<string, string>? Headers,
    string Match,
    string? Filter,
    IReadOnlyList<TransformView>? Transforms);

/// <summary>One transform step of a binding or subscription.</summary>
internal sealed record TransformView(string Type, string? Name, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary><c>set-header(header=x, value=y)</c>, for tables.</summary>
    public override string ToString() =>
        (Name is null ? Type : $"{Name}: {Type}") + "(" + string.Join(", ", Parameters.Select(p => $"{p.Key}={p.Value}")) + ")";
}
