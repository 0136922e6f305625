using System.CommandLine;
using OrleansMQ.Cli;
using OrleansMQ.Cli.Commands;
using OrleansMQ.Cli.Infrastructure;

// omq: the OrleansMQ command line. Exit codes are documented in ExitCodes and the README.
var root = new RootCommand("omq: manage and use an OrleansMQ broker (topics, queues, subscriptions, messages, dead letters, exchanges).")
{
    TopicCommands.Create(),
    QueueCommands.Create(),
    SubscriptionCommands.Create(),
    PublishCommand.Create(),
    ConsumeCommands.CreateConsume(),
    ConsumeCommands.CreateTail(),
    DeadLetterCommands.Create(),
    ExchangeCommands.Create(),
    ExchangeCommands.CreateBinding(bind: true),
    ExchangeCommands.CreateBinding(bind: false),
    ClusterCommands.Create(),
    BenchCommand.Create(),
};
foreach (var option in GlobalOptions.All)
{
    root.Options.Add(option);
}

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
{
    // System.CommandLine would exit with 1; usage errors have their own code so scripts can tell them apart.
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"Run '{CommandPath(parse.CommandResult)} --help' for usage.");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync(new InvocationConfiguration
{
    // Ctrl+C cancels the command's token; give consume/tail time to settle acks and delete tail's subscription.
    ProcessTerminationTimeout = TimeSpan.FromSeconds(20),
});

static string CommandPath(System.CommandLine.Parsing.CommandResult result)
{
    var names = new List<string>();
    for (System.CommandLine.Parsing.SymbolResult? r = result; r is not null; r = r.Parent)
    {
        if (r is System.CommandLine.Parsing.CommandResult command)
        {
            names.Insert(0, command.Command.Name);
        }
    }

    return string.Join(' ', names);
}
