using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Security;

/// <summary>Connection and subscription limits per principal, and slow-client timeouts (STOMP and HTTP).</summary>
[Collection(SecureGatewayCollection.Name)]
public sealed class LimitTests(SecureGatewayFixture gateway)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_principal_cannot_open_more_sessions_than_its_limit_and_a_closed_one_frees_a_slot()
    {
        // A principal of its own (the token's subject), so no other test's sessions count.
        var token = gateway.Token("limit-" + Guid.NewGuid().ToString("N")[..8], access: ["consume:topic:limits.*"]);
        var open = new List<RawStompConnection>();
        try
        {
            for (var i = 0; i < SecureGatewayFixture.MaxConnectionsPerPrincipal; i++)
            {
                var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
                open.Add(connection);
                Assert.Equal("CONNECTED", (await connection.TryConnectAsync($"passcode:{token}"))?.Command);
            }

            await using (var extra = await RawStompConnection.OpenAsync(gateway.StompPort))
            {
                var refused = await extra.TryConnectAsync($"passcode:{token}");
                Assert.Equal("ERROR", refused?.Command);
                Assert.Equal("LimitExceeded", refused!["omq-error-code"]);
                Assert.Contains($"the limit is Gateway:Limits:MaxConnectionsPerPrincipal={SecureGatewayFixture.MaxConnectionsPerPrincipal}", refused.BodyText);
            }

            // Another principal is not affected.
            await using (var other = await RawStompConnection.OpenAsync(gateway.StompPort))
            {
                Assert.Equal("CONNECTED", (await other.TryConnectAsync($"passcode:{SecureGatewayFixture.ConsumerKey}"))?.Command);
            }

            await open[0].SendAsync("DISCONNECT\nreceipt:bye\n\n\0");
            Assert.Equal("RECEIPT", (await open[0].ReadFrameAsync())?.Command);
            // The slot is released once the server finished closing the session: poll with a deadline.
            var clock = Stopwatch.StartNew();
            while (true)
            {
                await using var again = await RawStompConnection.OpenAsync(gateway.StompPort);
                var answer = await again.TryConnectAsync($"passcode:{token}");
                if (answer?.Command == "CONNECTED")
                {
                    break;
                }

                Assert.True(clock.Elapsed < Deadline, $"no slot freed within {Deadline}: {answer}");
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Subscriptions_are_limited_per_principal_across_its_connections()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("limits"));
        var token = gateway.Token("limit-" + Guid.NewGuid().ToString("N")[..8], access: ["consume:topic:limits.*"]);
        await using var first = await RawStompConnection.OpenAsync(gateway.StompPort);
        await using var second = await RawStompConnection.OpenAsync(gateway.StompPort);
        Assert.Equal("CONNECTED", (await first.TryConnectAsync($"passcode:{token}"))?.Command);
        Assert.Equal("CONNECTED", (await second.TryConnectAsync($"passcode:{token}"))?.Command);

        for (var i = 0; i < SecureGatewayFixture.MaxSubscriptionsPerPrincipal; i++)
        {
            await first.SendAsync($"SUBSCRIBE\nid:{i}\ndestination:/topic/{topic}\nreceipt:s{i}\n\n\0");
            Assert.Equal("RECEIPT", (await first.ReadFrameAsync(Deadline))?.Command);
        }

        await second.SendAsync($"SUBSCRIBE\nid:0\ndestination:/topic/{topic}\nreceipt:s\n\n\0");
        var (frames, closed) = await second.ReadUntilClosedAsync(Deadline);

        var error = Assert.Single(frames);
        Assert.Equal("LimitExceeded", error["omq-error-code"]);
        Assert.Contains($"the limit is Gateway:Limits:MaxSubscriptionsPerPrincipal={SecureGatewayFixture.MaxSubscriptionsPerPrincipal}", error.BodyText);
        Assert.True(closed);
    }

    [Fact]
    public async Task A_connection_that_never_sends_connect_is_closed()
    {
        await using var idle = await RawStompConnection.OpenAsync(gateway.StompPort);

        var (frames, closed) = await idle.ReadUntilClosedAsync(Deadline);

        Assert.True(closed, "the server kept a silent connection open");
        Assert.Equal("connect timeout", Assert.Single(frames)["message"]);
    }

    [Fact]
    public async Task A_frame_that_stalls_halfway_closes_the_connection()
    {
        await using var stomp = await RawStompConnection.OpenAsync(gateway.StompPort);
        Assert.Equal("CONNECTED", (await stomp.TryConnectAsync($"passcode:{SecureGatewayFixture.ConsumerKey}"))?.Command);

        await stomp.SendAsync("SEND\ndestination:/queue/jobs.stalled\ncontent-type:text/plain\n");
        var (frames, closed) = await stomp.ReadUntilClosedAsync(Deadline);

        Assert.True(closed, "the server kept a half-sent frame's connection open");
        var error = Assert.Single(frames);
        Assert.Equal("frame timeout", error["message"]);
        Assert.Contains("Gateway:Stomp:FrameTimeout", error.BodyText);
    }

    [Fact]
    public async Task Http_request_headers_that_never_finish_are_cut_off()
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, gateway.HttpPort);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));

        // Kestrel answers 408 and closes once RequestHeadersTimeout passes; read until the connection ends.
        using var timeout = new CancellationTokenSource(Deadline);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        try
        {
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
            // A reset is a close too.
        }

        Assert.False(timeout.IsCancellationRequested, "the server kept the slow request open");
        Assert.DoesNotContain("200 OK", received.ToString());
    }

    [Fact]
    public async Task Http_pull_sessions_count_toward_the_principal_limits_and_an_expired_one_frees_its_slot()
    {
        var token = gateway.Token("pull-" + Guid.NewGuid().ToString("N")[..8], access: ["consume:topic:limits.*"]);
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("limits"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/s", new { type = "Shared" })).EnsureSuccessStatusCode();
        Task<HttpResponseMessage> ReceiveAs(string consumer) =>
            gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/s/receive?consumer={consumer}", Credential.Bearer(token));

        // Each named consumer is a pull session: one session and one subscription slot until it closes.
        for (var i = 0; i < SecureGatewayFixture.MaxSubscriptionsPerPrincipal; i++)
        {
            using var opened = await ReceiveAs($"c{i}");
            Assert.True(opened.IsSuccessStatusCode, $"c{i}: {(int)opened.StatusCode} {await opened.Content.ReadAsStringAsync()}");
        }

        using (var refused = await ReceiveAs("one-too-many"))
        {
            var detail = await SecureGatewayExtensions.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "LimitExceeded");
            Assert.Contains($"the limit is Gateway:Limits:MaxSubscriptionsPerPrincipal={SecureGatewayFixture.MaxSubscriptionsPerPrincipal}", detail);
        }

        // An open session is reused, not counted again; another principal is not affected.
        using (var again = await ReceiveAs("c0"))
        {
            Assert.True(again.IsSuccessStatusCode, await again.Content.ReadAsStringAsync());
        }

        using (var other = await gateway.SendAsAsync(HttpMethod.Post, $"topics/{topic}/subscriptions/s/receive?consumer=other", Credential.Key(SecureGatewayFixture.AdminKey)))
        {
            Assert.True(other.IsSuccessStatusCode, await other.Content.ReadAsStringAsync());
        }

        // Unused sessions close after Gateway:PullSessionIdleTimeout and give their slots back: poll with a deadline.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var retry = await ReceiveAs("one-too-many");
            if (retry.IsSuccessStatusCode)
            {
                break;
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, retry.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"no pull session slot freed within 60 s (idle timeout {SecureGatewayFixture.PullSessionIdleTimeout})");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Websocket_stream_sessions_count_toward_the_principal_limits_and_a_closed_one_frees_its_slot()
    {
        var token = gateway.Token("ws-" + Guid.NewGuid().ToString("N")[..8], access: ["consume:topic:limits.*"]);
        var topic = await gateway.CreateTopicAsync(Unique.Dotted("limits"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/s", new { type = "Shared" })).EnsureSuccessStatusCode();
        var uri = new Uri($"ws://127.0.0.1:{gateway.HttpPort}/topics/{topic}/subscriptions/s/stream");
        ClientWebSocket NewSocket()
        {
            var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
            socket.Options.CollectHttpResponseDetails = true;
            return socket;
        }

        var open = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < SecureGatewayFixture.MaxSubscriptionsPerPrincipal; i++)
            {
                var socket = NewSocket();
                open.Add(socket);
                await socket.ConnectAsync(uri, CancellationToken.None);
            }

            using (var refused = NewSocket())
            {
                await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(uri, CancellationToken.None));
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);
            }

            await open[0].CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            // The slot is released once the server finished the session: poll with a deadline.
            var clock = Stopwatch.StartNew();
            while (true)
            {
                using var again = NewSocket();
                try
                {
                    await again.ConnectAsync(uri, CancellationToken.None);
                    await again.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
                catch (WebSocketException)
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, again.HttpStatusCode);
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no WebSocket stream slot freed within 60 s");
                    await Task.Delay(250);
                }
            }
        }
        finally
        {
            foreach (var socket in open)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
    }
}
