namespace OrleansMQ;

/// <summary>
/// The one exception type OrleansMQ throws for broker-level failures. It is serializable, so it crosses grain and
/// client boundaries with its <see cref="Code"/> intact.
/// </summary>
[GenerateSerializer, Alias("omq.error")]
public sealed class OrleansMQException : Exception
{
    /// <summary>Creates an error with a code and a message that names the offending value and the limit.</summary>
    public OrleansMQException(ErrorCode code, string message) : base(message) => Code = code;

    /// <summary>Creates an error wrapping an inner exception.</summary>
    public OrleansMQException(ErrorCode code, string message, Exception? innerException) : base(message, innerException) => Code = code;

    /// <summary>The stable error code.</summary>
    [Id(0)]
    public ErrorCode Code { get; private set; }

    /// <inheritdoc />
    public override string ToString() => $"{Code}: {base.ToString()}";

    /// <summary>Creates a <see cref="ErrorCode.NotFound"/> error naming what is missing.</summary>
    public static OrleansMQException NotFound(string what, string name) => new(ErrorCode.NotFound, $"{what} '{name}' does not exist.");
}
