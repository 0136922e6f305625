using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// The configured API keys, kept as SHA-256 digests. A lookup hashes the presented key and compares it with every
/// configured digest in constant time, so neither the position of the first differing byte nor which key matched
/// shows in the timing.
/// </summary>
internal sealed class ApiKeyStore
{
    private readonly (byte[] Digest, ApiKeyOptions Key)[] _keys;
    private readonly string _accessClaim;
    private readonly string _nameClaim;
    private readonly string _roleClaim;

    public ApiKeyStore(IOptions<OrleansMQGatewayOptions> options)
    {
        var security = options.Value.Security;
        _keys = [.. security.ApiKeys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k))];
        _accessClaim = security.Jwt.AccessClaim;
        _nameClaim = security.Jwt.NameClaim;
        _roleClaim = security.Jwt.RoleClaim;
    }

    /// <summary>The principal of <paramref name="key"/>, or <c>null</c> when no configured key matches.</summary>
    public ClaimsPrincipal? Find(string key)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
        ApiKeyOptions? match = null;
        foreach (var (candidate, options) in _keys)
        {
            // No early exit: every key is compared.
            if (CryptographicOperations.FixedTimeEquals(candidate, digest))
            {
                match = options;
            }
        }

        if (match is null)
        {
            return null;
        }

        var claims = new List<Claim> { new(_nameClaim, match.Principal) };
        claims.AddRange(match.Access.Select(a => new Claim(_accessClaim, a)));
        claims.AddRange(match.Roles.Select(r => new Claim(_roleClaim, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, GatewayAuthentication.ApiKeyScheme, _nameClaim, _roleClaim));
    }
}
