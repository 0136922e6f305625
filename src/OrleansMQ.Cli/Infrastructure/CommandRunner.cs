using System.CommandLine;
using Orleans.Runtime;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>Runs command handlers and turns their failures into an <c>error: …</c> line on stderr and an exit code.</summary>
internal static class CommandRunner
{
    /// <summary>Sets <paramref name="handler"/> as the command's action, run through <see cref="RunAsync"/>.</summary>
    public static Command Handle(this Command command, Func<CommandContext, CancellationToken, Task<int>> handler)
    {
        command.SetAction((parse, cancellationToken) => RunAsync(parse, handler, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Func<CommandContext, CancellationToken, Task<int>> handler, CancellationToken cancellationToken)
    {
        var settings = CliSettings.From(parse);
        var output = new CliOutput(settings.Json);
        try
        {
            await using var context = new CommandContext(parse, settings, output);
            return await handler(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var (code, message) = Classify(ex, settings, cancellationToken);
            output.Error(message);
            if (settings.Verbose)
            {
                output.Note(ex.ToString());
            }

            return code;
        }
    }

    private static (int Code, string Message) Classify(Exception error, CliSettings settings, CancellationToken cancellationToken) => error switch
    {
        OrleansMQException mq => (ExitCodes.For(mq.Code), $"{mq.Code}: {mq.Message}"),
        BrokerUnavailableException unavailable => (ExitCodes.Unavailable, unavailable.Message),
        UsageException usage => (ExitCodes.Usage, usage.Message),
        OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.Interrupted, "interrupted"),
        SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException =>
            (ExitCodes.Unavailable, $"lost the connection to the broker at {settings.Endpoint}: {FirstLine(error.Message)}"),
        TimeoutException => (ExitCodes.Unavailable, $"the broker at {settings.Endpoint} did not answer in time: {FirstLine(error.Message)}"),
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => (ExitCodes.InvalidInput, error.Message),
        _ => (ExitCodes.Failure, $"unexpected {error.GetType().Name}: {FirstLine(error.Message)}" + (settings.Verbose ? "" : " (--verbose prints the stack trace)")),
    };

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline > 0 ? message[..newline].TrimEnd() : message;
    }
}
