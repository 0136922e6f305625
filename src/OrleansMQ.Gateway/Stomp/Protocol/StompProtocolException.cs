namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>
/// A frame or session the gateway cannot accept. The connection answers with an ERROR frame (message header =
/// <see cref="Exception.Message"/>, body = <see cref="Detail"/>) and closes.
/// </summary>
internal sealed class StompProtocolException : Exception
{
    public StompProtocolException(string message, string? detail = null) : base(message) => Detail = detail;

    public StompProtocolException(string message, string? detail, Exception? innerException) : base(message, innerException) => Detail = detail;

    /// <summary>A longer explanation for the ERROR frame's body.</summary>
    public string? Detail { get; }

    /// <summary>Extra headers for the ERROR frame (e.g. <c>version</c> on a failed negotiation).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders { get; init; } = [];
}
