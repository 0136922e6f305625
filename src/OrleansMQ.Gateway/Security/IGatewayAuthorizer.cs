using System.Security.Claims;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// The one place every gateway entry point (HTTP, STOMP over TCP and WebSocket, other WebSocket endpoints, pages) asks
/// whether a principal may act on a topic, queue or exchange. Resolve it from DI.
/// </summary>
public interface IGatewayAuthorizer
{
    /// <summary>
    /// Throws when <paramref name="principal"/> may not do <paramref name="action"/> on <paramref name="name"/>:
    /// <see cref="OrleansMQException"/> with <see cref="ErrorCode.Unauthorized"/> when it is not authenticated (and
    /// anonymous access is off), <see cref="ErrorCode.Forbidden"/> when no access rule allows it. Nothing else is checked
    /// (not even whether the name exists), so call it before doing anything.
    /// </summary>
    /// <param name="principal">The caller: <c>HttpContext.User</c>, or the principal of a STOMP session. <c>null</c> = anonymous.</param>
    /// <param name="action">What the caller wants to do.</param>
    /// <param name="kind">What kind of name <paramref name="name"/> is.</param>
    /// <param name="name">The topic, queue or exchange name.</param>
    void Authorize(ClaimsPrincipal? principal, GatewayAction action, GatewayResourceKind kind, string name);

    /// <summary>Whether <see cref="Authorize"/> would pass (for filtering lists); never throws for a denial.</summary>
    bool IsAllowed(ClaimsPrincipal? principal, GatewayAction action, GatewayResourceKind kind, string name);

    /// <summary>
    /// Throws <see cref="OrleansMQException"/> with <see cref="ErrorCode.Unauthorized"/> unless the principal is
    /// authenticated or anonymous access is allowed. For entry points that need a caller but no particular resource yet.
    /// </summary>
    void RequireAuthenticated(ClaimsPrincipal? principal);

    /// <summary>The name connection and subscription limits are counted under: the principal's name, or <c>anonymous</c>.</summary>
    string PrincipalName(ClaimsPrincipal? principal);
}
