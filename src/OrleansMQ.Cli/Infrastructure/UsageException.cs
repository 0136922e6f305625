namespace OrleansMQ.Cli.Infrastructure;

/// <summary>A command line that parses but does not make sense (e.g. conflicting options): exit code <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
