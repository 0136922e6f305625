using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Gateway.Security;

/// <summary>Scheme names and where credentials are read from.</summary>
internal static class GatewayAuthentication
{
    /// <summary>The policy scheme that picks API key or bearer per request (the default scheme).</summary>
    public const string Scheme = "OrleansMQ";

    /// <summary>API keys: <c>Authorization: ApiKey &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>.</summary>
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>The header some clients prefer for API keys.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>
    /// Query parameter for WebSocket upgrades only (browsers cannot set headers on a WebSocket): an API key or a JWT.
    /// </summary>
    public const string AccessTokenQuery = "access_token";

    /// <summary>Whether <paramref name="credential"/> looks like a JWT (header.payload.signature, base64url) rather than an API key.</summary>
    public static bool LooksLikeJwt(string credential) =>
        credential.StartsWith("eyJ", StringComparison.Ordinal) && credential.Count(c => c == '.') == 2;

    /// <summary>The credential of a WebSocket upgrade's <c>access_token</c> query, if any.</summary>
    public static string? WebSocketQueryToken(HttpContext context) =>
        IsWebSocketUpgrade(context.Request) && context.Request.Query[AccessTokenQuery].FirstOrDefault() is { Length: > 0 } token ? token : null;

    /// <summary>
    /// Read from the request itself, not <c>HttpContext.WebSockets</c>: ASP.NET Core may authenticate (and cache the
    /// result) before the WebSocket middleware ran.
    /// </summary>
    private static bool IsWebSocketUpgrade(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && string.Equals(request.Headers.Upgrade.ToString(), "websocket", StringComparison.OrdinalIgnoreCase);

    /// <summary>Which scheme handles the request: bearer for a <c>Bearer</c> header or a JWT-shaped query token, API key otherwise.</summary>
    public static string SelectScheme(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.FirstOrDefault();
        if (authorization is not null)
        {
            return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                ? Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerDefaults.AuthenticationScheme
                : ApiKeyScheme;
        }

        return WebSocketQueryToken(context) is { } token && LooksLikeJwt(token)
            ? Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerDefaults.AuthenticationScheme
            : ApiKeyScheme;
    }
}
