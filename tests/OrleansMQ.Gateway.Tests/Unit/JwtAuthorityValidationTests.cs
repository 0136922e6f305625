namespace OrleansMQ.Gateway.Tests.Unit;

/// <summary>A misconfigured OpenID Connect authority fails at start-up, naming the setting, not at the first bearer request.</summary>
public sealed class JwtAuthorityValidationTests
{
    [Theory]
    [InlineData("https://login.example.com", true, null)]
    [InlineData("http://127.0.0.1:5000", false, null)]
    [InlineData("http://127.0.0.1:5000", true, "is plain http: use https, or set Gateway:Security:Jwt:RequireHttpsMetadata=false")]
    [InlineData("login.example.com", true, "must be an absolute https:// URL")]
    [InlineData("ftp://login.example.com", true, "must be an absolute https:// URL")]
    public void The_authority_must_be_https_unless_http_metadata_is_allowed_explicitly(string authority, bool requireHttps, string? error)
    {
        var options = new OrleansMQGatewayOptions();
        options.Security.Jwt.Authority = authority;
        options.Security.Jwt.RequireHttpsMetadata = requireHttps;

        var result = new OrleansMQGatewayOptionsValidator().Validate(null, options);

        if (error is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains($"Gateway:Security:Jwt:Authority '{authority}' {error}", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
