namespace OrleansMQ.Gateway;

/// <summary>Limits that keep one client (or many) from exhausting the gateway.</summary>
public sealed class GatewayLimitsOptions
{
    /// <summary>Most open STOMP, STOMP-over-WebSocket, WebSocket stream and HTTP pull-consume sessions in total. Default 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Most open STOMP, STOMP-over-WebSocket, WebSocket stream and HTTP pull-consume sessions of one principal (anonymous callers count as one principal). Default 1,000.</summary>
    public int MaxConnectionsPerPrincipal { get; set; } = 1_000;

    /// <summary>Most subscriptions of one principal over all its sessions (a STOMP SUBSCRIBE; a WebSocket stream or an HTTP pull session counts as one). Default 10,000.</summary>
    public int MaxSubscriptionsPerPrincipal { get; set; } = 10_000;

    /// <summary>Kestrel: time to receive an HTTP request's headers. Default 30 s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Kestrel: an HTTP request body slower than this many bytes per second (after a 5 s grace) is aborted. Default 240.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Kestrel: an idle keep-alive HTTP connection is closed after this time. Default 2 min.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
