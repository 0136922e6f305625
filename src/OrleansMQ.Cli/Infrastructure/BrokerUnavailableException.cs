namespace OrleansMQ.Cli.Infrastructure;

/// <summary>omq could not reach the broker (or lost it): exit code <see cref="ExitCodes.Unavailable"/>.</summary>
internal sealed class BrokerUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
