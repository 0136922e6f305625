namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Authentication and authorization of the gateway (configuration section <c>Gateway:Security</c>). Callers
/// authenticate with an API key or a JWT bearer token; access rules (see <see cref="AccessRule"/>) decide what they may
/// do. With no credentials a caller is anonymous, which is refused unless <see cref="AllowAnonymous"/> is set.
/// </summary>
public sealed class GatewaySecurityOptions
{
    /// <summary>The claim type that carries access rules (in JWTs, and on API-key principals). Default <c>omq_access</c>.</summary>
    public const string DefaultAccessClaim = "omq_access";

    /// <summary>
    /// Whether callers without credentials are served, with the rules of <see cref="AnonymousAccess"/>. Default
    /// <c>false</c>. Invalid or expired credentials are refused either way.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The access rules of anonymous callers when <see cref="AllowAnonymous"/> is set. Default (unset): <c>*:*:*</c>, everything.</summary>
    public List<string>? AnonymousAccess { get; set; }

    /// <summary>The API keys the gateway accepts.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer token validation. Off unless <see cref="JwtOptions.SigningKey"/> or <see cref="JwtOptions.Authority"/> is set.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Access rules per role: a principal with role <c>R</c> (a JWT role claim, or an API key's roles) gets <c>Roles[R]</c>.</summary>
    public Dictionary<string, List<string>> Roles { get; set; } = new(StringComparer.Ordinal);

    internal IReadOnlyList<string> EffectiveAnonymousAccess => AnonymousAccess ?? ["*:*:*"];
}
