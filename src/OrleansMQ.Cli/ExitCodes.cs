namespace OrleansMQ.Cli;

/// <summary>
/// The process exit codes of <c>omq</c>. Scripts branch on them, so they are part of the CLI's contract (README lists
/// them): never renumber.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected failure (a bug in omq or an error it does not classify); the exception is printed.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown command or option, missing argument, a value omq cannot parse.</summary>
    public const int Usage = 2;

    /// <summary>The broker says a topic, queue, subscription or exchange does not exist (<see cref="ErrorCode.NotFound"/>).</summary>
    public const int NotFound = 3;

    /// <summary>
    /// The broker refused a value: <see cref="ErrorCode.InvalidName"/>, <see cref="ErrorCode.InvalidArgument"/>,
    /// <see cref="ErrorCode.MessageTooLarge"/>, <see cref="ErrorCode.HeadersTooLarge"/>.
    /// </summary>
    public const int InvalidInput = 4;

    /// <summary>Any other broker error (<see cref="ErrorCode.AlreadyExists"/>, <see cref="ErrorCode.BacklogFull"/>, <see cref="ErrorCode.Unroutable"/>, …).</summary>
    public const int BrokerError = 5;

    /// <summary>The broker cannot be reached: no gateway within the connect timeout, the connection was lost, or a call timed out.</summary>
    public const int Unavailable = 6;

    /// <summary>Interrupted by Ctrl+C (SIGINT) or SIGTERM before the command finished (consume and tail end normally instead).</summary>
    public const int Interrupted = 130;

    /// <summary>The exit code for a broker error code.</summary>
    public static int For(ErrorCode code) => code switch
    {
        ErrorCode.NotFound => NotFound,
        ErrorCode.InvalidName or ErrorCode.InvalidArgument or ErrorCode.MessageTooLarge or ErrorCode.HeadersTooLarge => InvalidInput,
        _ => BrokerError,
    };
}
