using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>
/// STOMP authentication and access rules with the third-party client @stomp/stompjs over TCP and WebSocket, against a
/// silo host with anonymous access off: the same keys, tokens and rules as over HTTP.
/// </summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class StompSecurityTests(SecureGatewayFixture gateway)
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Connect_without_credentials_is_refused_with_an_error_frame(string transport)
    {
        var result = await NodeStompClient.RunAsync(gateway, "probe", transport);

        Assert.False(result.GetProperty("connected").GetBoolean());
        var error = result.GetProperty("error");
        Assert.Equal("Unauthorized", error.GetProperty("omq-error-code").GetString());
        Assert.StartsWith("Credentials are required", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Connect_with_an_unknown_api_key_is_refused(string transport)
    {
        var result = await NodeStompClient.RunAsync(gateway, "probe", transport, "--login", "billing", "--passcode", "not-a-configured-key-at-all");

        Assert.False(result.GetProperty("connected").GetBoolean());
        Assert.Equal("Unauthorized", result.GetProperty("error").GetProperty("omq-error-code").GetString());
        Assert.Equal("The API key is not valid.", result.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("tcp", "passcode")]
    [InlineData("ws", "passcode")]
    [InlineData("tcp", "authorization")]
    public async Task Connect_with_an_expired_token_is_refused(string transport, string header)
    {
        var expired = gateway.Token("svc", roles: ["publisher"], notBefore: DateTime.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1));
        var credential = header == "passcode" ? new[] { "--passcode", expired } : ["--authorization", "Bearer " + expired];

        var result = await NodeStompClient.RunAsync(gateway, "probe", transport, credential);

        Assert.False(result.GetProperty("connected").GetBoolean());
        Assert.Equal("Unauthorized", result.GetProperty("error").GetProperty("omq-error-code").GetString());
        Assert.StartsWith("The bearer token expired at", result.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Send_without_a_produce_rule_is_an_error_frame_and_writes_nothing(string transport)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });

        var result = await NodeStompClient.RunAsync(gateway, "probe", transport,
            "--passcode", SecureGatewayFixture.ConsumerKey, "--op", "send", "--destination", $"/topic/{topic}");

        Assert.True(result.GetProperty("connected").GetBoolean());
        Assert.False(result.TryGetProperty("receipt", out _));
        var error = result.GetProperty("error");
        Assert.Equal("Forbidden", error.GetProperty("omq-error-code").GetString());
        Assert.Equal($"Principal 'billing' may not produce topic '{topic}': no access rule allows it.", error.GetProperty("message").GetString());
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Send_with_a_token_in_passcode_and_a_matching_role_is_stored(string transport)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var token = gateway.Token("svc-stomp", roles: ["publisher"]);

        var result = await NodeStompClient.RunAsync(gateway, "probe", transport, "--passcode", token, "--op", "send", "--destination", $"/topic/{topic}");

        Assert.True(result.GetProperty("receipt").GetBoolean(), result.ToString());
        using var marker = await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "marker" });
        Assert.Equal(1, (await marker.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Subscribe_without_a_consume_rule_is_an_error_frame(string transport)
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });

        var denied = await NodeStompClient.RunAsync(gateway, "probe", transport,
            "--passcode", SecureGatewayFixture.ProducerKey, "--op", "subscribe", "--destination", $"/topic/{topic}");
        var allowed = await NodeStompClient.RunAsync(gateway, "probe", transport,
            "--passcode", SecureGatewayFixture.ConsumerKey, "--op", "subscribe", "--destination", $"/topic/{topic}");

        Assert.Equal("Forbidden", denied.GetProperty("error").GetProperty("omq-error-code").GetString());
        Assert.Contains("may not consume topic", denied.GetProperty("error").GetProperty("message").GetString());
        Assert.True(allowed.GetProperty("receipt").GetBoolean(), allowed.ToString());
    }

    [Fact]
    public async Task Creating_a_durable_subscription_over_stomp_needs_admin_and_leaves_nothing_when_denied()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        await using var stomp = await RawStompConnection.OpenAsync(gateway.StompPort);
        Assert.Equal("CONNECTED", (await stomp.TryConnectAsync($"passcode:{SecureGatewayFixture.ConsumerKey}"))?.Command);

        await stomp.SendAsync($"SUBSCRIBE\nid:0\ndestination:/topic/{topic}\ndurable-subscription-name:audit\nreceipt:r1\n\n\0");
        var (frames, closed) = await stomp.ReadUntilClosedAsync(TimeSpan.FromSeconds(30));

        var error = Assert.Single(frames);
        Assert.Equal("ERROR", error.Command);
        Assert.Equal("Forbidden", error["omq-error-code"]);
        Assert.Contains("may not admin topic", error["message"]);
        Assert.True(closed);
        using var missing = await gateway.Http.GetAsync($"topics/{topic}/subscriptions/audit");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_denied_send_inside_a_transaction_fails_at_once_and_the_commit_never_happens()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        await using var stomp = await RawStompConnection.OpenAsync(gateway.StompPort);
        Assert.Equal("CONNECTED", (await stomp.TryConnectAsync($"passcode:{SecureGatewayFixture.ConsumerKey}"))?.Command);

        await stomp.SendAsync($"BEGIN\ntransaction:t\n\n\0SEND\ndestination:/topic/{topic}\ntransaction:t\n\nx\0COMMIT\ntransaction:t\nreceipt:c\n\n\0");
        var (frames, closed) = await stomp.ReadUntilClosedAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["ERROR"], frames.Select(f => f.Command));
        Assert.Equal("Forbidden", frames[0]["omq-error-code"]);
        Assert.True(closed);
        await gateway.AssertNothingWrittenAsync(topic);
    }

    [Fact]
    public async Task A_websocket_upgrade_can_carry_the_credential_as_access_token_and_a_bad_one_is_401()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("v12.stomp");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.HttpPort}/stomp?access_token={gateway.Token("browser-user", roles: ["publisher"])}"), CancellationToken.None);
        // No credentials in CONNECT: the upgrade's token is the session's principal.
        await SendTextAsync(socket, $"CONNECT\naccept-version:1.2\nhost:omq\n\n\0SEND\ndestination:/topic/{topic}\nreceipt:r\n\nfrom a browser\0");
        var answers = await ReceiveTextAsync(socket) + await ReceiveTextAsync(socket);
        Assert.StartsWith("CONNECTED\n", answers);
        Assert.Contains("RECEIPT\nreceipt-id:r\n", answers);

        using var rejected = new ClientWebSocket();
        rejected.Options.AddSubProtocol("v12.stomp");
        rejected.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => rejected.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.HttpPort}/stomp?access_token=wrong-key-0123456789"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.HttpStatusCode);
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
        while (!result.EndOfMessage);
        return text.ToString();
    }
}
