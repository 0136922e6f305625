namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>
/// One STOMP frame: a command, header entries in wire order (decoded), and a body. Repeated header names are kept;
/// <see cref="this[string]"/> returns the first one, as STOMP 1.2 says.
/// </summary>
internal sealed class StompFrame
{
    public StompFrame(string command, IReadOnlyList<KeyValuePair<string, string>>? headers = null, ReadOnlyMemory<byte> body = default)
    {
        Command = command;
        Headers = headers ?? [];
        Body = body;
    }

    public string Command { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The first value of a header, or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in Headers)
            {
                if (key == name)
                {
                    return value;
                }
            }

            return null;
        }
    }

    /// <summary>The frame without one header (used to replay transactional frames without their transaction).</summary>
    public StompFrame Without(string name) => new(Command, [.. Headers.Where(h => h.Key != name)], Body);

    public override string ToString() => Command;
}
