namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// One decoder under fuzzing. <see cref="Run"/> takes arbitrary bytes; for bad input it may throw only the exception
/// types <see cref="IsExpected"/> accepts (the decoder's documented errors). Anything else — another exception type, or
/// a broken invariant (<see cref="FuzzInvariantException"/>) — is a finding.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name used on the command line and as the corpus folder (<c>corpus/&lt;name&gt;/</c>).</summary>
    string Name { get; }

    /// <summary>Feeds one input to the decoder and checks its invariants.</summary>
    void Run(ReadOnlySpan<byte> data);

    /// <summary>True for the documented error of bad input.</summary>
    bool IsExpected(Exception exception);
}
