namespace OrleansMQ.Server.Storage;

/// <summary>
/// Test-only storage fault injection (<c>OrleansMQ:FaultInjection</c>): wraps the message log so a fault test can make
/// appends fail, report a full disk, or slow down, while the silo runs. Honoured only when the process environment has
/// <see cref="EnvironmentVariable"/>=1 as well, so a stray setting cannot break a production broker: without it, an
/// enabled section fails startup validation.
/// </summary>
public sealed class FaultInjectionOptions
{
    /// <summary>The environment variable that must be "1" for <see cref="Enabled"/> to be accepted.</summary>
    public const string EnvironmentVariable = "OMQ_ENABLE_FAULT_INJECTION";

    /// <summary>Wrap the message log in the fault-injecting decorator. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// A file whose first line selects the fault, re-read when it changes: <c>none</c> (or a missing file), <c>fail</c>
    /// (appends throw an I/O error before writing), <c>full</c> (appends throw ENOSPC, "No space left on device", before
    /// writing), <c>slow &lt;ms&gt;</c> (each append and read waits that long first).
    /// </summary>
    public string? ControlFile { get; set; }

    /// <summary>Whether the process environment allows fault injection.</summary>
    public static bool AllowedByEnvironment => Environment.GetEnvironmentVariable(EnvironmentVariable) == "1";
}
