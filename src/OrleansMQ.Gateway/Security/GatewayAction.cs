namespace OrleansMQ.Gateway.Security;

/// <summary>What a gateway client wants to do with a topic, queue or exchange; an access rule grants one or more of these.</summary>
public enum GatewayAction
{
    /// <summary>Publish messages (HTTP publish, STOMP SEND).</summary>
    Produce,

    /// <summary>Receive, ack and nack messages (HTTP receive/ack/nack, STOMP SUBSCRIBE/ACK/NACK, WebSocket consume).</summary>
    Consume,

    /// <summary>Create, describe, delete, bind, browse and re-drive dead letters.</summary>
    Admin,
}
