namespace OrleansMQ.Gateway.Security;

/// <summary>
/// The kind of name an access rule matches. Topics and queues share one name space (a queue is a topic with a Shared
/// subscription), so the kind says which API the client used, not a separate set of names.
/// </summary>
public enum GatewayResourceKind
{
    /// <summary>A topic (<c>/topics/{name}</c>, STOMP <c>/topic/{name}</c>).</summary>
    Topic,

    /// <summary>A queue (<c>/queues/{name}</c>, STOMP <c>/queue/{name}</c>).</summary>
    Queue,

    /// <summary>An exchange (<c>/exchanges/{name}</c>, STOMP <c>/exchange/{name}/{key}</c>).</summary>
    Exchange,
}
