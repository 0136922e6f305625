using System.Security.Claims;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>
/// What a STOMP session authenticates and authorizes with, who its transport says the client is, and the clock skew
/// tolerated past a bearer token's expiry (the session ends then).
/// </summary>
internal sealed record StompSecurity(
    IGatewayAuthenticator Authenticator,
    IGatewayAuthorizer Authorizer,
    GatewayConnectionLimiter Limiter,
    ClaimsPrincipal? TransportPrincipal,
    TimeSpan TokenClockSkew);
