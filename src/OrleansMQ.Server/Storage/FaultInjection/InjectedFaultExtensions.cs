namespace OrleansMQ.Server.Storage;

/// <summary>Applying an <see cref="InjectedFault"/> before a log operation.</summary>
internal static class InjectedFaultExtensions
{
    /// <summary>ENOSPC: the errno .NET puts in <see cref="Exception.HResult"/> of an <see cref="IOException"/> on Linux.</summary>
    public const int DiskFullErrno = 28;

    /// <summary>Waits (slow) or throws (fail; full, for writes only) as the fault says.</summary>
    public static async ValueTask BeforeAsync(this InjectedFault fault, bool reading, CancellationToken cancellationToken)
    {
        switch (fault.Kind)
        {
            case InjectedFaultKind.Slow:
                await Task.Delay(fault.Delay, cancellationToken);
                break;
            case InjectedFaultKind.Fail when !reading:
                throw new IOException("Injected storage failure (fault injection).");
            case InjectedFaultKind.DiskFull when !reading:
                throw new IOException("No space left on device (injected ENOSPC, fault injection).", DiskFullErrno);
        }
    }
}
