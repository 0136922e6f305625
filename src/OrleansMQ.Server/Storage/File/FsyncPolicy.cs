namespace OrleansMQ.Server.Storage;

/// <summary>When the file log forces appended data to stable storage.</summary>
public enum FsyncPolicy
{
    /// <summary>
    /// Every commit round is flushed to disk (fsync) before its appends complete: an acknowledged append survives a
    /// process crash, an OS crash and a power loss. The default.
    /// </summary>
    Always = 0,

    /// <summary>
    /// Appends complete once written to the OS page cache, without fsync. Survives a process crash but NOT an OS crash or
    /// power loss: acknowledged messages can be lost, and a crash may leave damage that recovery reports as corruption
    /// rather than a torn tail. For benchmarks and throw-away environments only.
    /// </summary>
    Never = 1,
}
