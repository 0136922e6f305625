using System.CommandLine;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>One invocation of a command: its parsed values, the global settings, the output, and (once asked for) the broker.</summary>
internal sealed class CommandContext(ParseResult parse, CliSettings settings, CliOutput output) : IAsyncDisposable
{
    private BrokerConnection? _connection;

    public ParseResult Parse { get; } = parse;

    public CliSettings Settings { get; } = settings;

    public CliOutput Output { get; } = output;

    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;

    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    public TimeSpan Get(DurationOption option) => option.ValueIn(Parse);

    public TimeSpan? Get(OptionalDurationOption option) => option.ValueIn(Parse);

    public StartPosition Get(PositionOption option) => option.ValueIn(Parse);

    /// <summary>
    /// Connects to the broker (once). Commands validate what they can first, so a bad name is reported as such even
    /// when no broker runs.
    /// </summary>
    public async Task<BrokerConnection> ConnectAsync(CancellationToken cancellationToken) =>
        _connection ??= await BrokerConnection.ConnectAsync(Settings, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
