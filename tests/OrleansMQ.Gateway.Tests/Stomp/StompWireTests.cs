using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Stomp;

/// <summary>
/// What no well-behaved client library sends: malformed frames, oversized frames, silence instead of heart-beats,
/// escaped header bytes. Raw TCP, exact bytes.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StompWireTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_client_that_stops_sending_heart_beats_is_disconnected()
    {
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        var connected = await connection.ConnectAsync(heartBeat: "1000,0");
        Assert.Equal("0,1000", connected["heart-beat"]);

        var silent = Stopwatch.StartNew();
        var (frames, closed) = await connection.ReadUntilClosedAsync(TimeSpan.FromSeconds(8));

        Assert.True(closed, "the server kept a silent connection open");
        var error = Assert.Single(frames);
        Assert.Equal("ERROR", error.Command);
        Assert.Equal("heart-beat timeout", error["message"]);
        Assert.InRange(silent.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));
    }

    [Fact]
    public async Task A_malformed_frame_gets_an_error_frame_and_a_close_and_every_earlier_send_is_stored()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("malformed"));
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();

        var sends = string.Concat(Enumerable.Range(0, 3).Select(i => $"SEND\ndestination:/topic/{topic}\n\nmessage {i}\0"));
        await connection.SendAsync(sends + $"SEND\ndestination /topic/{topic}\n\nno colon in that header\0SEND\ndestination:/topic/{topic}\n\nnever read\0");
        var (frames, closed) = await connection.ReadUntilClosedAsync(TimeSpan.FromSeconds(10));

        Assert.True(closed);
        var error = Assert.Single(frames);
        Assert.Equal("ERROR", error.Command);
        Assert.Equal("malformed frame", error["message"]);
        Assert.Contains("':'", error.BodyText);
        // The ERROR frame is sent once the earlier SENDs are durable.
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(3, subscription.GetProperty("backlog").GetInt64());
    }

    [Theory]
    [InlineData("SEND\ndestination:/topic/x\n\nbody\0", "not connected")]
    [InlineData("CONNECT\naccept-version:1.0,1.1\nhost:omq\n\n\0", "unsupported protocol version")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0FROB\n\n\0", "unknown command")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0SEND\ndestination:/topic/x\nbad:tab\\tescape\n\n\0", "malformed frame")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0SEND\ndestination:/nowhere/x\n\n\0", "Unknown destination '/nowhere/x': use /topic/{name}, /queue/{name} or /exchange/{name}/{routing key}.")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0SEND\ndestination:/topic/x\ncontent-length:5000000\n\n", "frame too large")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0SUBSCRIBE\ndestination:/topic/x\nid:1\nack:sometimes\n\n\0", "invalid ack mode")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0ACK\nid:7.7\n\n\0", "unknown ack id")]
    [InlineData("CONNECT\naccept-version:1.2\n\n\0COMMIT\ntransaction:never-begun\n\n\0", "unknown transaction")]
    public async Task Protocol_violations_get_an_error_frame_then_the_connection_closes(string frames, string expectedMessage)
    {
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.SendAsync(frames);

        var (received, closed) = await connection.ReadUntilClosedAsync(TimeSpan.FromSeconds(10));

        Assert.True(closed);
        var error = Assert.Single(received, f => f.Command == "ERROR");
        Assert.Equal(expectedMessage, Unescape(error["message"]!));
        Assert.Equal("ERROR", received[^1].Command);
    }

    [Fact]
    public async Task A_body_larger_than_the_limit_without_content_length_is_refused_before_it_is_all_read()
    {
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();

        await connection.SendAsync("SEND\ndestination:/topic/x\n\n");
        var sent = 0;
        var chunk = Encoding.ASCII.GetBytes(new string('a', 64 * 1024));
        try
        {
            while (sent < 2 * 1024 * 1024)
            {
                await connection.SendAsync(chunk);
                sent += chunk.Length;
            }
        }
        catch (IOException)
        {
            // The server closed while we were still sending: that is the point.
        }

        var (frames, closed) = await connection.ReadUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.True(closed);
        Assert.Equal("frame too large", Assert.Single(frames)["message"]);
    }

    [Fact]
    public async Task Header_escapes_and_binary_bodies_round_trip()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("escape"));
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();
        await connection.SendAsync($"SUBSCRIBE\nid:sub\\c1\ndestination:/topic/{topic}\nreceipt:s\n\n\0");
        Assert.Equal("RECEIPT", (await connection.ReadFrameAsync())?.Command);

        byte[] body = [0, 1, 2, 0, 255, 10];
        var frame = Encoding.UTF8.GetBytes($"SEND\ndestination:/topic/{topic}\nx-odd:a\\cb\\\\c\\nd\\r\ncontent-type:application/octet-stream\ncontent-length:{body.Length}\nreceipt:p\n\n")
            .Concat(body).Append((byte)0).ToArray();
        await connection.SendAsync(frame);

        var first = await connection.ReadFrameAsync();
        var second = await connection.ReadFrameAsync();
        var message = new[] { first, second }.Single(f => f?.Command == "MESSAGE")!;
        Assert.Contains(new[] { first, second }, f => f?.Command == "RECEIPT" && f["receipt-id"] == "p");
        Assert.Equal("sub\\c1", message["subscription"]);
        Assert.Equal("a\\cb\\\\c\\nd\\r", message["x-odd"]);
        Assert.Equal(body, message.Body);
        Assert.Equal($"/topic/{topic}", message["destination"]);
    }

    private static string Unescape(string raw) => raw.Replace("\\c", ":", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
}
