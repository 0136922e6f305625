using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Authenticates HTTP requests (and WebSocket upgrades) by API key: <c>Authorization: ApiKey &lt;key&gt;</c>,
/// <c>X-Api-Key</c>, or on a WebSocket upgrade the <c>access_token</c> query. No key = no result (anonymous); an
/// unknown key or another Authorization scheme = failure (401).
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? key = null;
        var authorization = Request.Headers.Authorization.FirstOrDefault();
        if (authorization is not null)
        {
            if (!authorization.StartsWith(GatewayAuthentication.ApiKeyScheme + " ", StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.Fail("The Authorization header must be 'ApiKey <key>' or 'Bearer <token>'."));
            }

            key = authorization[(GatewayAuthentication.ApiKeyScheme.Length + 1)..].Trim();
        }

        key ??= Request.Headers[GatewayAuthentication.ApiKeyHeader].FirstOrDefault() ?? GatewayAuthentication.WebSocketQueryToken(Context);
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(keys.Find(key) is { } principal
            ? AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name))
            : AuthenticateResult.Fail("The API key is not valid."));
    }
}
