using System.Security.Claims;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>What a STOMP session authenticates and authorizes with, and who its transport says the client is.</summary>
internal sealed record StompSecurity(
    IGatewayAuthenticator Authenticator,
    IGatewayAuthorizer Authorizer,
    GatewayConnectionLimiter Limiter,
    ClaimsPrincipal? TransportPrincipal);
