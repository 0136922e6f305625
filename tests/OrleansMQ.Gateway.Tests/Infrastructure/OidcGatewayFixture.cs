using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// An OpenID Connect issuer on a loopback Kestrel (this process: <c>/.well-known/openid-configuration</c> and a JWKS
/// with an RSA key made for this run), and a silo host whose gateway trusts it through
/// <c>Gateway:Security:Jwt:Authority</c> (plain-HTTP metadata allowed explicitly, for the test only). Anonymous access
/// is off; <see cref="GatewayFixture.Http"/> carries an admin API key for setup.
/// </summary>
public sealed class OidcGatewayFixture : GatewayFixture
{
    public const string Audience = "omq-gateway";
    public const string KeyId = "oidc-test-key";
    private const string AdminKey = "oidc-admin-key-52e1c7a9d03b48f6";
    private readonly RSA _key = RSA.Create(2048);
    private WebApplication? _issuer;
    private int _metadataRequests;
    private int _jwksRequests;

    /// <summary>The issuer's base URL (also its <c>iss</c>).</summary>
    public string Authority { get; private set; } = "";

    /// <summary>How often the gateway fetched the discovery document and the key set.</summary>
    public (int Metadata, int Jwks) Fetches => (Volatile.Read(ref _metadataRequests), Volatile.Read(ref _jwksRequests));

    public override async Task InitializeAsync()
    {
        var port = LoopbackPorts.Reserve(1)[0];
        Authority = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        _issuer = builder.Build();
        var publicKey = _key.ExportParameters(includePrivateParameters: false);
        _issuer.MapGet("/.well-known/openid-configuration", () =>
        {
            Interlocked.Increment(ref _metadataRequests);
            return Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = Authority,
                ["jwks_uri"] = $"{Authority}/jwks",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                ["subject_types_supported"] = new[] { "public" },
                ["response_types_supported"] = new[] { "code" },
            });
        });
        _issuer.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref _jwksRequests);
            return Results.Json(new
            {
                keys = new[]
                {
                    new Dictionary<string, string>
                    {
                        ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = KeyId,
                        ["n"] = Base64UrlEncoder.Encode(publicKey.Modulus), ["e"] = Base64UrlEncoder.Encode(publicKey.Exponent),
                    },
                },
            });
        });
        await _issuer.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            if (_issuer is not null)
            {
                await _issuer.StopAsync();
                await _issuer.DisposeAsync();
            }

            _key.Dispose();
        }
    }

    protected override IEnumerable<string> ExtraArguments() =>
    [
        "--Gateway:Security:AllowAnonymous=false",
        $"--Gateway:Security:ApiKeys:0:Key={AdminKey}",
        "--Gateway:Security:ApiKeys:0:Principal=admin",
        "--Gateway:Security:ApiKeys:0:Access:0=*:*:*",
        $"--Gateway:Security:Jwt:Authority={Authority}",
        "--Gateway:Security:Jwt:RequireHttpsMetadata=false",
        $"--Gateway:Security:Jwt:Audience={Audience}",
    ];

    protected override HttpMessageHandler CreateHandler() => new AdminKeyHandler();

    /// <summary>An RS256 token for <paramref name="subject"/> signed with the issuer's key, or with <paramref name="signingKey"/> (under the same key id).</summary>
    public string Token(string subject, IEnumerable<string> access, RSA? signingKey = null, string? issuer = null)
    {
        var from = DateTime.UtcNow.AddMinutes(-1);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Authority,
            Audience = Audience,
            NotBefore = from,
            IssuedAt = from,
            Expires = from.AddMinutes(10),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["omq_access"] = access.ToArray() },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signingKey ?? _key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
        });
    }

    private sealed class AdminKeyHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Authorization is null)
            {
                request.Headers.Add("X-Api-Key", AdminKey);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
