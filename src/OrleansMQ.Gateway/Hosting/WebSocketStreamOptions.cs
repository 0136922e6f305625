namespace OrleansMQ.Gateway;

/// <summary>Limits and timing of the plain WebSocket streaming consume protocol (configuration section <c>Gateway:WebSocketStream</c>).</summary>
public sealed class WebSocketStreamOptions
{
    /// <summary>
    /// Most credit a session may hold unspent (granted but not yet used by a delivery). A <c>credit</c> frame that
    /// would take it above this is a protocol error. Default 10,000.
    /// </summary>
    public int MaxCredit { get; set; } = 10_000;

    /// <summary>Largest client frame (one WebSocket text message) in bytes. Default 64 KiB.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How long one partition's long poll holds credit while waiting for messages before it hands the credit back to
    /// the other partitions' polls. Shorter = fairer with little credit, more grain calls when idle. Default 1 s.
    /// </summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most deliveries one partition poll asks the broker for. Default 256.</summary>
    public int MaxBatch { get; set; } = 256;
}
