namespace OrleansMQ.Client.Internal;

/// <summary>Which failures are worth retrying: the cluster moving a grain, a silo going away, a timeout.</summary>
internal static class Transient
{
    public static bool IsTransient(Exception ex) => ex switch
    {
        OrleansMQException mq => mq.Code == ErrorCode.Internal,
        TimeoutException => true,
        SiloUnavailableException => true,
        OrleansMessageRejectionException => true,
        Orleans.Runtime.Messaging.ConnectionFailedException => true,
        OrleansException => true,
        _ => false,
    };

    public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, Math.Min(attempt, 10))));
}
