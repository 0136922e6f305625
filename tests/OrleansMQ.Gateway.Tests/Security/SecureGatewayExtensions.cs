using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>Requests with chosen credentials, and the "nothing was written" check.</summary>
internal static class SecureGatewayExtensions
{
    /// <summary>Sends with exactly the given credentials: an API key (X-Api-Key or Authorization: ApiKey), a bearer token, or none.</summary>
    public static async Task<HttpResponseMessage> SendAsAsync(this SecureGatewayFixture gateway, HttpMethod method, string path, Credential credential, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        switch (credential.Kind)
        {
            case CredentialKind.None:
                request.Options.Set(SecureGatewayFixture.Anonymous, true);
                break;
            case CredentialKind.ApiKeyHeader:
                request.Headers.Add("X-Api-Key", credential.Value);
                break;
            case CredentialKind.ApiKeyAuthorization:
                request.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", credential.Value);
                break;
            case CredentialKind.Bearer:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Value);
                break;
        }

        return await gateway.Http.SendAsync(request);
    }

    /// <summary>Asserts a problem-details answer with the status and our error code; returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem.GetProperty("detail").GetString() ?? "";
    }

    /// <summary>
    /// Proves a single-partition topic holds nothing: the admin publishes a marker, which must land at offset 0.
    /// </summary>
    public static async Task AssertNothingWrittenAsync(this SecureGatewayFixture gateway, string topic, string api = "topics")
    {
        using var response = await gateway.Http.PostAsJsonAsync($"{api}/{topic}/messages", new { text = "marker" });
        response.EnsureSuccessStatusCode();
        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(receipt.GetProperty("offset").GetInt64() == 0, $"'{topic}' already held {receipt.GetProperty("offset").GetInt64()} message(s) before the marker");
    }
}

public enum CredentialKind
{
    None,
    ApiKeyHeader,
    ApiKeyAuthorization,
    Bearer,
}

internal sealed record Credential(CredentialKind Kind, string Value)
{
    public static readonly Credential None = new(CredentialKind.None, "");

    public static Credential Key(string key) => new(CredentialKind.ApiKeyHeader, key);

    public static Credential KeyInAuthorization(string key) => new(CredentialKind.ApiKeyAuthorization, key);

    public static Credential Bearer(string token) => new(CredentialKind.Bearer, token);
}
