using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Validates credentials outside HTTP headers with the same API key store and the same JWT bearer options (issuer,
/// audience, keys, the authority's metadata) as the HTTP authentication handlers.
/// </summary>
internal sealed class GatewayCredentialAuthenticator(
    ApiKeyStore keys,
    IOptionsMonitor<JwtBearerOptions> jwtOptions,
    IOptions<OrleansMQGatewayOptions> options) : IGatewayAuthenticator
{
    private static readonly ClaimsPrincipal AnonymousPrincipal = new(new ClaimsIdentity());
    private readonly JsonWebTokenHandler _tokens = new() { MapInboundClaims = false };

    public async ValueTask<ClaimsPrincipal> AuthenticateAsync(string? credential, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(credential))
        {
            return AnonymousPrincipal;
        }

        if (!GatewayAuthentication.LooksLikeJwt(credential))
        {
            return keys.Find(credential) ?? throw new OrleansMQException(ErrorCode.Unauthorized, "The API key is not valid.");
        }

        if (!options.Value.Security.Jwt.Enabled)
        {
            throw new OrleansMQException(ErrorCode.Unauthorized, "Bearer tokens are not accepted: Gateway:Security:Jwt has no signing key or authority.");
        }

        var jwt = jwtOptions.Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = jwt.TokenValidationParameters.Clone();
        if (jwt.ConfigurationManager is { } manager)
        {
            var configuration = await manager.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
            parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], configuration.Issuer];
            parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. configuration.SigningKeys];
        }

        var result = await _tokens.ValidateTokenAsync(credential, parameters).ConfigureAwait(false);
        return result.IsValid
            ? new ClaimsPrincipal(result.ClaimsIdentity)
            : throw new OrleansMQException(ErrorCode.Unauthorized, TokenFailures.Describe(result.Exception));
    }
}
