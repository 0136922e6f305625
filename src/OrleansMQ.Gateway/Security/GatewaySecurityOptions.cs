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

/// <summary>One API key: the secret, who it stands for and what that principal may do.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The secret the client sends (<c>Authorization: ApiKey &lt;key&gt;</c>, <c>X-Api-Key</c>, or STOMP <c>passcode</c>). At least 16 characters.</summary>
    public string Key { get; set; } = "";

    /// <summary>The principal's name: what logs show and limits count under.</summary>
    public string Principal { get; set; } = "";

    /// <summary>Access rules, e.g. <c>produce,consume:topic:orders.*</c> (see <see cref="AccessRule"/>).</summary>
    public List<string> Access { get; set; } = [];

    /// <summary>Roles whose rules (<see cref="GatewaySecurityOptions.Roles"/>) the principal also gets.</summary>
    public List<string> Roles { get; set; } = [];
}

/// <summary>JWT bearer validation: a symmetric signing key, and/or an OpenID Connect authority whose keys are fetched.</summary>
public sealed class JwtOptions
{
    /// <summary>The expected <c>iss</c>; unset = not checked (only sensible with a trusted signing key).</summary>
    public string? Issuer { get; set; }

    /// <summary>The expected <c>aud</c>; unset = not checked.</summary>
    public string? Audience { get; set; }

    /// <summary>An HMAC-SHA256 key (UTF-8 text, at least 32 bytes) that tokens are signed with.</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect authority (its <c>/.well-known/openid-configuration</c> supplies issuer and signing keys).</summary>
    public string? Authority { get; set; }

    /// <summary>Whether the authority's metadata must be fetched over HTTPS. Default <c>true</c>.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim with the principal's name. Default <c>sub</c>.</summary>
    public string NameClaim { get; set; } = "sub";

    /// <summary>The claim with the principal's roles (one claim per role, or a JSON array). Default <c>role</c>.</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>The claim with access rules (one per claim value, or a JSON array). Default <c>omq_access</c>.</summary>
    public string AccessClaim { get; set; } = GatewaySecurityOptions.DefaultAccessClaim;

    /// <summary>Tolerated clock difference for <c>exp</c>/<c>nbf</c>. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    internal bool Enabled => !string.IsNullOrEmpty(SigningKey) || !string.IsNullOrEmpty(Authority);
}
