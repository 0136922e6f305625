using System.Net;
using System.Text.RegularExpressions;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>The management page's actions (silo-host's /ui) need admin rights from the gateway's access rules.</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed partial class ManagementPageSecurityTests(SecureGatewayFixture gateway)
{
    [Fact]
    public async Task A_page_action_without_admin_rights_is_403_and_changes_nothing_while_an_admin_may_act()
    {
        var topic = Unique.Dotted("ui.secured");

        var refused = await PostCreateTopicAsync(SecureGatewayFixture.ProducerKey, topic);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Forbidden", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await GetTopicAsAdminAsync(topic)).StatusCode);

        var allowed = await PostCreateTopicAsync(SecureGatewayFixture.AdminKey, topic);
        Assert.True(allowed.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"admin's create: {(int)allowed.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, (await GetTopicAsAdminAsync(topic)).StatusCode);
    }

    // Loads the page as the key's principal (antiforgery tokens are bound to the user), then posts its create-topic form.
    private async Task<HttpResponseMessage> PostCreateTopicAsync(string apiKey, string topic)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{gateway.HttpPort}/"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var page = await http.GetStringAsync("ui");
        var token = AntiforgeryToken().Match(page);
        Assert.True(token.Success, "the page has a form with an antiforgery token");
        var response = await http.PostAsync("ui/actions/topics", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["name"] = topic,
            ["partitions"] = "1",
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private async Task<HttpResponseMessage> GetTopicAsAdminAsync(string topic)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.HttpPort}/"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", SecureGatewayFixture.AdminKey);
        return await http.GetAsync($"topics/{topic}");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
