namespace OrleansMQ.Server.Storage;

/// <summary>Recognizes storage failures that deserve their own error code.</summary>
internal static class StorageErrors
{
    private const int EnospcErrno = 28;          // Linux/macOS: .NET puts errno in IOException.HResult
    private const int DiskFullHResult = unchecked((int)0x80070070); // Windows ERROR_DISK_FULL
    private const int HandleDiskFullHResult = unchecked((int)0x80070027); // Windows ERROR_HANDLE_DISK_FULL

    /// <summary>Whether <paramref name="exception"/> or one of its inner exceptions says the disk is full.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException { HResult: EnospcErrno or DiskFullHResult or HandleDiskFullHResult })
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsDiskFull))
            {
                return true;
            }
        }

        return false;
    }
}
