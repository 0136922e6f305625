using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>
/// A silo host with security on: anonymous access off, three API keys with different access rules, JWT bearer tokens
/// signed with a key made for this run, small connection/subscription limits and short slow-client timeouts.
/// <see cref="GatewayFixture.Http"/> carries the admin key.
/// </summary>
public sealed class SecureGatewayFixture : GatewayFixture
{
    /// <summary>Everything on everything.</summary>
    public const string AdminKey = "admin-key-7f3a9c21d4e8b6a0";

    /// <summary>order-service: produce to topics <c>orders.*</c> and to exchange <c>orders-x</c>.</summary>
    public const string ProducerKey = "producer-key-51c2e8f4a7b9d306";

    /// <summary>billing: consume topics <c>orders.*</c>; produce and consume queues <c>jobs.*</c>.</summary>
    public const string ConsumerKey = "consumer-key-c9d04b7e2a1f8365";

    /// <summary>limited: consume topics <c>limits.*</c>; its sessions and subscriptions hit the small limits.</summary>
    public const string LimitedKey = "limited-key-0b6e3f9a8c2d4175";

    /// <summary>chatter: produce and consume topics <c>chat.*</c> (the browser chat's rooms), nothing else.</summary>
    public const string ChatKey = "chat-key-3e81d0a5f7c24b96";

    public const string Issuer = "https://issuer.omq.test";
    public const string Audience = "omq-gateway";
    public const int MaxConnectionsPerPrincipal = 3;
    public const int MaxSubscriptionsPerPrincipal = 2;
    public static readonly TimeSpan SlowClientTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Tolerated token clock skew: short, so sessions with short-lived tokens end soon after <c>exp</c>.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(1);

    /// <summary>An HTTP pull session unused for this long closes (and frees its principal's slots).</summary>
    public static readonly TimeSpan PullSessionIdleTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The HMAC key tokens are signed with (made for this run).</summary>
    public string SigningKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    protected override IEnumerable<string> ExtraArguments() =>
    [
        "--Gateway:Security:AllowAnonymous=false",
        $"--Gateway:Security:ApiKeys:0:Key={AdminKey}",
        "--Gateway:Security:ApiKeys:0:Principal=admin",
        "--Gateway:Security:ApiKeys:0:Access:0=*:*:*",
        $"--Gateway:Security:ApiKeys:1:Key={ProducerKey}",
        "--Gateway:Security:ApiKeys:1:Principal=order-service",
        "--Gateway:Security:ApiKeys:1:Access:0=produce:topic:orders.*",
        "--Gateway:Security:ApiKeys:1:Access:1=produce:exchange:orders-x",
        $"--Gateway:Security:ApiKeys:2:Key={ConsumerKey}",
        "--Gateway:Security:ApiKeys:2:Principal=billing",
        "--Gateway:Security:ApiKeys:2:Access:0=consume:topic:orders.*",
        "--Gateway:Security:ApiKeys:2:Access:1=produce,consume:queue:jobs.*",
        $"--Gateway:Security:ApiKeys:3:Key={LimitedKey}",
        "--Gateway:Security:ApiKeys:3:Principal=limited",
        "--Gateway:Security:ApiKeys:3:Access:0=consume:topic:limits.*",
        $"--Gateway:Security:ApiKeys:4:Key={ChatKey}",
        "--Gateway:Security:ApiKeys:4:Principal=chatter",
        "--Gateway:Security:ApiKeys:4:Access:0=produce,consume:topic:chat.*",
        $"--Gateway:Security:Jwt:Issuer={Issuer}",
        $"--Gateway:Security:Jwt:Audience={Audience}",
        $"--Gateway:Security:Jwt:SigningKey={SigningKey}",
        $"--Gateway:Security:Jwt:ClockSkew={ClockSkew}",
        "--Gateway:Security:Roles:publisher:0=produce:topic:orders.*",
        $"--Gateway:Limits:MaxConnectionsPerPrincipal={MaxConnectionsPerPrincipal}",
        $"--Gateway:Limits:MaxSubscriptionsPerPrincipal={MaxSubscriptionsPerPrincipal}",
        $"--Gateway:Limits:RequestHeadersTimeout={SlowClientTimeout}",
        $"--Gateway:Stomp:ConnectTimeout={SlowClientTimeout}",
        $"--Gateway:Stomp:FrameTimeout={SlowClientTimeout}",
        $"--Gateway:PullSessionIdleTimeout={PullSessionIdleTimeout}",
    ];

    protected override HttpMessageHandler CreateHandler() => new ApiKeyHandler(AdminKey);

    /// <summary>A JWT for <paramref name="subject"/> signed with this run's key (or <paramref name="signingKey"/>), valid from <paramref name="notBefore"/> for <paramref name="lifetime"/>.</summary>
    public string Token(string subject, IEnumerable<string>? access = null, IEnumerable<string>? roles = null,
        DateTime? notBefore = null, TimeSpan? lifetime = null, string? signingKey = null, string issuer = Issuer, string audience = Audience)
    {
        var from = notBefore ?? DateTime.UtcNow.AddMinutes(-1);
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (access is not null)
        {
            claims["omq_access"] = access.ToArray();
        }

        if (roles is not null)
        {
            claims["role"] = roles.ToArray();
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            NotBefore = from,
            IssuedAt = from,
            Expires = from + (lifetime ?? TimeSpan.FromMinutes(10)),
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(signingKey ?? SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    private sealed class ApiKeyHandler(string key) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // Tests that send their own credentials keep them.
            if (request.Headers.Authorization is null && !request.Headers.Contains("X-Api-Key") && !request.Options.TryGetValue(Anonymous, out _))
            {
                request.Headers.Add("X-Api-Key", key);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Set on a request to send it without the fixture's admin key.</summary>
    public static readonly HttpRequestOptionsKey<bool> Anonymous = new("omq-anonymous");
}

/// <summary>The security tests share one secured silo host.</summary>
// Not in parallel with the other gateway collections: each runs its own silo host, and the existing tests with
// sub-second leases are sensitive to a loaded 2-core machine.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SecureGatewayCollection : ICollectionFixture<SecureGatewayFixture>
{
    public const string Name = "secure-gateway";
}
