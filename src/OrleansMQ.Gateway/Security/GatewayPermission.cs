namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Endpoint metadata: the permission an HTTP endpoint needs on the resource its route value <c>topic</c>, <c>queue</c>
/// or <c>exchange</c> names. Checked by the authentication middleware before the request body is read, and again by an
/// endpoint filter (for hosts without the middleware).
/// </summary>
public sealed record GatewayPermission(GatewayAction Action, GatewayResourceKind Kind)
{
    /// <summary>The route value that holds the resource name.</summary>
    public string RouteValue => Kind.ToString().ToLowerInvariant();
}
