using OrleansMQ.Faults.History;

namespace OrleansMQ.Faults.Workload;

/// <summary>Turns a publish exception into an outcome: failed only when the error says nothing was written.</summary>
public static class PublishErrors
{
    /// <summary>
    /// Failed for typed refusals the broker makes before appending (validation, missing topic, backlog limit); unknown for
    /// everything else (timeouts, lost connections, storage errors): the write may or may not have happened.
    /// </summary>
    public static PublishOutcome Classify(Exception exception) =>
        exception is OrleansMQException { Code: ErrorCode.InvalidName or ErrorCode.MessageTooLarge or ErrorCode.HeadersTooLarge or ErrorCode.InvalidArgument
            or ErrorCode.NotFound or ErrorCode.Unauthorized or ErrorCode.BacklogFull or ErrorCode.Unroutable }
            ? PublishOutcome.Failed
            : PublishOutcome.Unknown;

    /// <summary>The exception type, the error code when typed, and the first line of the message.</summary>
    public static string Describe(Exception exception)
    {
        var message = exception.Message.Split('\n', 2)[0];
        return exception is OrleansMQException typed ? $"{exception.GetType().Name}({typed.Code}): {message}" : $"{exception.GetType().Name}: {message}";
    }
}
