using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>
/// A bearer token is checked when a long-lived session opens; the session ends when the token expires (its <c>exp</c>
/// plus the configured clock skew): STOMP with an ERROR "token expired", a WebSocket stream with an Unauthorized error
/// frame and a policy-violation close. Real silo host, short-lived tokens, polling with a deadline.
/// </summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class TokenExpiryTests(SecureGatewayFixture gateway)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_stomp_session_ends_with_token_expired_when_its_jwt_expires()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        var (token, expiresAt) = ShortLivedToken("expiring-stomp");
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        var connected = await connection.TryConnectAsync($"passcode:{token}");
        Assert.True(connected?.Command == "CONNECTED", $"expected CONNECTED, got {connected}");
        await connection.SendAsync($"SUBSCRIBE\nid:0\ndestination:/topic/{topic}\nreceipt:sub\n\n\0");
        var receipt = await connection.ReadFrameAsync(Deadline);
        Assert.True(receipt?.Command == "RECEIPT", $"expected RECEIPT, got {receipt}");

        var (frames, closed) = await connection.ReadUntilClosedAsync(Deadline);

        Assert.True(closed, "the session outlived its token");
        Assert.True(DateTimeOffset.UtcNow >= expiresAt, $"the session ended before its token expired at {expiresAt:O}");
        var error = frames[^1];
        Assert.True(error.Command == "ERROR" && error["message"] == "token expired", $"expected ERROR token expired, got {error}");
        Assert.Equal("Unauthorized", error["omq-error-code"]);
        Assert.Contains("expired at", error.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stomp_over_websocket_session_authenticated_at_the_upgrade_ends_when_the_token_expires()
    {
        var (token, expiresAt) = ShortLivedToken("expiring-browser");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("v12.stomp");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.HttpPort}/stomp?access_token={token}"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("CONNECT\naccept-version:1.2\nhost:omq\n\n\0"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        var messages = await ReceiveUntilClosedAsync(socket);

        Assert.StartsWith("CONNECTED\n", messages[0], StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow >= expiresAt, $"the session ended before its token expired at {expiresAt:O}");
        Assert.Contains(messages, m => m.StartsWith("ERROR\n", StringComparison.Ordinal) && m.Contains("\nmessage:token expired\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_websocket_stream_is_closed_with_policy_violation_when_its_token_expires_and_delivers_nothing_after()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("orders"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/s", new { start = "Earliest" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "before expiry" })).EnsureSuccessStatusCode();
        var (token, expiresAt) = ShortLivedToken("expiring-stream");
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.HttpPort}/topics/{topic}/subscriptions/s/stream"), CancellationToken.None);
        await socket.SendAsync("""{"type":"credit","n":100}"""u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        var messages = await ReceiveUntilClosedAsync(socket);

        Assert.True(DateTimeOffset.UtcNow >= expiresAt, $"the session ended before its token expired at {expiresAt:O}");
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        var frames = messages.Select(m => JsonDocument.Parse(m).RootElement).ToList();
        Assert.Equal("before expiry", frames[0].GetProperty("text").GetString());
        var error = frames[^1];
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("Unauthorized", error.GetProperty("code").GetString());
        Assert.True(error.GetProperty("fatal").GetBoolean());
        // The message published before expiry was delivered, and the error frame was the end.
        Assert.Single(frames, f => f.GetProperty("type").GetString() == "message");
    }

    /// <summary>A token for consuming and producing orders.* that expires <see cref="Lifetime"/> from now; the session must end at exp + skew.</summary>
    private (string Token, DateTimeOffset SessionEnds) ShortLivedToken(string subject)
    {
        var notBefore = DateTime.UtcNow.AddMinutes(-1);
        var lifetime = TimeSpan.FromMinutes(1) + Lifetime;
        var token = gateway.Token(subject, access: ["consume,produce:topic:orders.*"], notBefore: notBefore, lifetime: lifetime);
        // exp has whole seconds.
        var exp = DateTimeOffset.FromUnixTimeSeconds(new DateTimeOffset(notBefore + lifetime).ToUnixTimeSeconds());
        return (token, exp + SecureGatewayFixture.ClockSkew);
    }

    /// <summary>Every text message until the server closes (or the deadline passes: the session outlived its token).</summary>
    private static async Task<List<string>> ReceiveUntilClosedAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var messages = new List<string>();
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the session outlived its token; received: {string.Join(" | ", messages)}");
                throw;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return messages;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            if (result.EndOfMessage)
            {
                messages.Add(text.ToString());
                text.Clear();
            }
        }
    }
}
