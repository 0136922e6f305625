namespace OrleansMQ.Server.Storage;

/// <summary>
/// Thrown by a log instance that lost ownership of its partition: another instance opened the same partition on the same
/// storage (for example a new activation of the partition grain on another silo) and fenced this one off. The fenced
/// instance wrote nothing after the takeover; the append that fails with this exception was not stored, and every later
/// append fails the same way. Dispose the instance; do not retry on it.
/// </summary>
public sealed class LogFencedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public LogFencedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the storage error that revealed the takeover.</summary>
    public LogFencedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
