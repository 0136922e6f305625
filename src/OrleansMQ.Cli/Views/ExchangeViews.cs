namespace OrleansMQ.Cli.Views;

/// <summary>An exchange with its bindings.</summary>
internal sealed record ExchangeView(string Name, string Type, string? AlternateTopic, string? AlternateExchange, long Version, IReadOnlyList<BindingView> Bindings);

/// <summary>One binding; <see cref="Headers"/> and <see cref="Match"/> only matter to headers exchanges.</summary>
internal sealed record BindingView(string Destination, string Key, IReadOnlyDictionary<string, string>? Headers, string Match);
