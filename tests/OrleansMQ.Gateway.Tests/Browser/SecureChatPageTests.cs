using System.Net.Http.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Browser;

/// <summary>
/// The chat page in headless Chromium against a gateway without anonymous access: the key typed into the page is sent
/// as the STOMP CONNECT passcode (and on the page's HTTP calls); a wrong key, or one without access to the room, ends
/// with a clear error on the page.
/// </summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class SecureChatPageTests(SecureGatewayFixture gateway)
{
    [Fact]
    public async Task With_a_valid_api_key_or_token_the_pages_chat_and_see_the_history()
    {
        var room = Unique.Name("room");
        // The chat key may chat but not create rooms: the admin creates this one (the page goes on after a 403 on PUT).
        await gateway.CreateTopicAsync($"chat.{room}", new { partitions = 1 });
        (await gateway.Http.PostAsJsonAsync($"topics/chat.{room}/messages", new { text = "posted over REST before anyone joined", headers = new Dictionary<string, string> { ["nick"] = "dave" } }))
            .EnsureSuccessStatusCode();

        // alice and bob type the chat API key; carol a JWT (another principal: the fixture allows 2 subscriptions each).
        var carolToken = gateway.Token("carol", access: ["produce,consume:topic:chat.*"]);
        var result = await ChatPageTests.RunScenarioAsync(gateway, room, "--key", SecureGatewayFixture.ChatKey, "--key-carol", carolToken);

        // The chat key may not create or list topics: Chromium logs the page's refused PUT/GET as console errors, which
        // the page handles (it goes on to STOMP). Nothing else may fail.
        await ChatPageTests.AssertConversationAsync(result, room,
            error => error.EndsWith("Failed to load resource: the server responded with a status of 403 (Forbidden)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_key_sees_that_the_key_is_not_valid_and_joins_nothing()
    {
        var room = Unique.Name("room");
        await gateway.CreateTopicAsync($"chat.{room}", new { partitions = 1 });

        var result = await ChatPageTests.RunScenarioAsync(gateway, room, "--key", "not-a-configured-key-at-all", "--scenario", "wrong-key");

        Assert.Equal("Could not join: The API key is not valid.", result.GetProperty("status").GetString());
        Assert.Empty(result.GetProperty("messages").EnumerateArray());
        Assert.True(result.GetProperty("composeHidden").GetBoolean());
    }

    [Fact]
    public async Task A_key_without_access_to_the_room_sees_the_forbidden_error_from_the_stomp_session()
    {
        var room = Unique.Name("room");
        await gateway.CreateTopicAsync($"chat.{room}", new { partitions = 1 });

        // order-service may only produce to orders.*: CONNECT succeeds, SUBSCRIBE to the room is refused with an ERROR frame.
        var result = await ChatPageTests.RunScenarioAsync(gateway, room, "--key", SecureGatewayFixture.ProducerKey, "--scenario", "wrong-key");

        var status = result.GetProperty("status").GetString();
        Assert.StartsWith("Error: Principal 'order-service' may not consume topic", status);
        Assert.Empty(result.GetProperty("messages").EnumerateArray());
    }
}
