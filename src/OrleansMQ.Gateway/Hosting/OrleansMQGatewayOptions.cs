using System.Net;

namespace OrleansMQ.Gateway;

/// <summary>
/// Settings of the gateway (configuration section <c>Gateway</c> in silo-host). Validated at start-up.
/// </summary>
public sealed class OrleansMQGatewayOptions
{
    /// <summary>The address Kestrel listens on. Default 127.0.0.1 (loopback only, since the gateway has no authentication yet).</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>HTTP port (REST, OpenAPI document, STOMP over WebSocket at <c>/stomp</c>). Default 8080; 0 = let the app configure Kestrel's HTTP endpoints itself.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>STOMP over TCP port. Default 61613; 0 = no STOMP over TCP.</summary>
    public int StompPort { get; set; } = 61613;

    /// <summary>
    /// Largest HTTP request body in bytes. Default 1 MiB of message base64-encoded (4/3) plus 64 KiB for JSON and
    /// headers, so the largest default message fits. Larger requests get 413 with error code MessageTooLarge.
    /// </summary>
    public long MaxHttpBodyBytes { get; set; } = (MessageLimits.DefaultMaxMessageBytes / 3 * 4) + 4 + (64 * 1024);

    /// <summary>Most messages in one HTTP batch publish. Default 1000.</summary>
    public int MaxBatchMessages { get; set; } = 1000;

    /// <summary>Longest <c>wait</c> of an HTTP receive (long poll). Default 20 s.</summary>
    public TimeSpan MaxReceiveWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Most deliveries one HTTP receive returns. Default 1000.</summary>
    public int MaxReceiveMessages { get; set; } = 1000;

    /// <summary>
    /// Credit of an HTTP pull session's consumer (when the client names its consumer id): how many deliveries the
    /// gateway leases ahead of the HTTP client's receives (at least the receive's max). Default 32. Buffered deliveries
    /// are leased, so keep it small for competing consumers. An anonymous receive leases only what it returns.
    /// </summary>
    public int PullPrefetch { get; set; } = 32;

    /// <summary>An HTTP pull session nobody used for this long is closed (its unacked deliveries are released). Default 2 min.</summary>
    public TimeSpan PullSessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>STOMP settings.</summary>
    public StompOptions Stomp { get; set; } = new();

    /// <summary>Settings of the plain WebSocket streaming consume protocol (<c>…/stream</c>).</summary>
    public WebSocketStreamOptions WebSocketStream { get; set; } = new();

    internal IPAddress ParsedBindAddress => IPAddress.Parse(BindAddress);
}

/// <summary>STOMP 1.2 limits and timing.</summary>
public sealed class StompOptions
{
    /// <summary>Largest frame body in bytes. Default 1 MiB (the default message size limit).</summary>
    public int MaxBodyBytes { get; set; } = MessageLimits.DefaultMaxMessageBytes;

    /// <summary>Most header lines in one frame. Default 128.</summary>
    public int MaxHeaders { get; set; } = 128;

    /// <summary>Longest command or header line in bytes (escaped, as on the wire). Default 16 KiB.</summary>
    public int MaxHeaderLineBytes { get; set; } = 16 * 1024;

    /// <summary>Most bytes of command plus headers of one frame. Default 64 KiB.</summary>
    public int MaxHeaderBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The shortest heart-beat interval the server agrees to, either way. The server offers to send and expects to
    /// receive heart-beats as often as the client asks, but not more often than this. Default 1 s.
    /// </summary>
    public TimeSpan MinHeartbeat { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A connection that sent nothing for this many negotiated client heart-beat intervals is closed. Default 2.</summary>
    public double HeartbeatTolerance { get; set; } = 2.0;

    /// <summary>A connection that has not sent CONNECT within this time is closed. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Credit of a STOMP subscription (unacknowledged MESSAGE frames in flight) unless the SUBSCRIBE frame sets <c>prefetch-count</c>. Default 100.</summary>
    public int DefaultPrefetch { get; set; } = 100;

    /// <summary>Most subscriptions per connection. Default 256.</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 256;

    /// <summary>Most open transactions per connection. Default 64.</summary>
    public int MaxTransactionsPerConnection { get; set; } = 64;

    /// <summary>Most frames (SEND/ACK/NACK) buffered in one transaction. Default 10,000.</summary>
    public int MaxFramesPerTransaction { get; set; } = 10_000;

    /// <summary>The longest a STOMP frame can be: body plus headers plus the terminator.</summary>
    internal int MaxFrameBytes => MaxBodyBytes + MaxHeaderBytes + 1;
}
