using System.Security.Claims;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Turns a credential that did not come in an HTTP header (a STOMP CONNECT <c>passcode</c>, a token in a WebSocket
/// message) into a principal, with the same keys, token validation and claims as HTTP requests. HTTP requests are
/// authenticated by the gateway's middleware already: use <c>HttpContext.User</c> there.
/// </summary>
public interface IGatewayAuthenticator
{
    /// <summary>
    /// Validates <paramref name="credential"/>: a JWT (three dot-separated base64url parts) as a bearer token, anything
    /// else as an API key. <c>null</c> or empty gives the anonymous principal (whether anonymous callers are served is
    /// <see cref="IGatewayAuthorizer"/>'s call). Throws <see cref="OrleansMQException"/> with
    /// <see cref="ErrorCode.Unauthorized"/> for an unknown key or an invalid or expired token.
    /// </summary>
    ValueTask<ClaimsPrincipal> AuthenticateAsync(string? credential, CancellationToken cancellationToken = default);
}
