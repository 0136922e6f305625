namespace OrleansMQ.Gateway.Security;

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
