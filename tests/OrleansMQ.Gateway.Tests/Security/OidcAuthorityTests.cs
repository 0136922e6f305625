using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>
/// JWT validation through an OpenID Connect authority (<c>Gateway:Security:Jwt:Authority</c>): the gateway fetches the
/// issuer's discovery document and JWKS (a loopback Kestrel in this process) and accepts exactly the tokens signed by
/// that key, over HTTP and STOMP.
/// </summary>
public sealed class OidcAuthorityTests(OidcGatewayFixture gateway) : IClassFixture<OidcGatewayFixture>
{
    private static readonly string[] Access = ["produce:topic:oidc.*"];

    [Fact]
    public async Task A_token_signed_by_the_authority_key_is_accepted_over_http()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("oidc"), new { partitions = 1 });

        using var response = await PublishAsync(topic, gateway.Token("oidc-user", Access));

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var (metadata, jwks) = gateway.Fetches;
        Assert.True(metadata > 0 && jwks > 0, $"the gateway did not fetch the authority's metadata ({metadata}) and keys ({jwks})");
    }

    [Fact]
    public async Task A_token_signed_by_another_key_under_the_same_key_id_is_401()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("oidc"), new { partitions = 1 });
        using var other = RSA.Create(2048);

        using var response = await PublishAsync(topic, gateway.Token("oidc-user", Access, signingKey: other));

        await SecureGatewayExtensions.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized");
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_401_even_with_the_right_key()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("oidc"), new { partitions = 1 });

        using var response = await PublishAsync(topic, gateway.Token("oidc-user", Access, issuer: "https://someone-else.test"));

        await SecureGatewayExtensions.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "Unauthorized");
    }

    [Fact]
    public async Task Stomp_connect_validates_the_passcode_token_against_the_authority_keys()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("oidc"), new { partitions = 1 });
        await using (var accepted = await RawStompConnection.OpenAsync(gateway.StompPort))
        {
            var connected = await accepted.TryConnectAsync($"passcode:{gateway.Token("oidc-stomp", Access)}");
            Assert.True(connected?.Command == "CONNECTED", $"expected CONNECTED, got {connected}");
            await accepted.SendAsync($"SEND\ndestination:/topic/{topic}\nreceipt:r\n\nsigned by the authority\0");
            var receipt = await accepted.ReadFrameAsync(TimeSpan.FromSeconds(30));
            Assert.True(receipt?.Command == "RECEIPT", $"expected RECEIPT, got {receipt}");
        }

        using var other = RSA.Create(2048);
        await using var refused = await RawStompConnection.OpenAsync(gateway.StompPort);
        var error = await refused.TryConnectAsync($"passcode:{gateway.Token("oidc-stomp", Access, signingKey: other)}");
        Assert.True(error?.Command == "ERROR" && error["omq-error-code"] == "Unauthorized", $"expected ERROR Unauthorized, got {error}");
    }

    private Task<HttpResponseMessage> PublishAsync(string topic, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"topics/{topic}/messages") { Content = JsonContent.Create(new { text = "hello" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return gateway.Http.SendAsync(request);
    }
}
