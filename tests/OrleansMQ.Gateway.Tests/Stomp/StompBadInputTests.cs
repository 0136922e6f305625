using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Stomp;

/// <summary>
/// Bad frames over raw TCP, as a table (complementing <see cref="StompWireTests"/>): each gets an ERROR frame whose
/// <c>message</c> says what is wrong and whose body names the header, value or limit, then the connection closes; the
/// gateway keeps serving new connections and every message accepted before is still there.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StompBadInputTests(GatewayFixture gateway)
{
    /// <summary>Bytes sent after CONNECT (<c>{topic}</c>: a fresh topic holding one message), the expected ERROR message, and what its body or message must name.</summary>
    public sealed record Case(byte[] Frames, string Message, params string[] Names);

    private static Case Text(string frames, string message, params string[] names) => new(Encoding.UTF8.GetBytes(frames), message, names);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["129 headers"] = Text("SEND\ndestination:/topic/{topic}\n" + string.Concat(Enumerable.Range(0, 128).Select(i => $"h{i}:v\n")) + "\nx\0", "too many headers", "128"),
        ["a 17 KiB header line"] = Text($"SEND\ndestination:/topic/{{topic}}\nbig:{new string('v', 17 * 1024)}\n\nx\0", "header too large", "16384"),
        ["70 KiB of headers"] = Text("SEND\ndestination:/topic/{topic}\n" + string.Concat(Enumerable.Range(0, 7).Select(i => $"h{i}:{new string('v', 10 * 1024)}\n")) + "\nx\0",
            "header too large", "65536"),
        ["content-length 'abc'"] = Text("SEND\ndestination:/topic/{topic}\ncontent-length:abc\n\nx\0", "malformed frame", "content-length 'abc'"),
        ["content-length -5"] = Text("SEND\ndestination:/topic/{topic}\ncontent-length:-5\n\nx\0", "malformed frame", "content-length '-5'"),
        ["content-length shorter than the body"] = Text("SEND\ndestination:/topic/{topic}\ncontent-length:1\n\nxyz\0", "malformed frame", "content-length 1"),
        ["a header that is not UTF-8"] = new([.. "SEND\ndestination:/topic/{topic}\nbad:"u8, 0xC3, 0x28, .. "\n\nx\0"u8], "malformed frame", "UTF-8"),
        ["a header with an empty name"] = Text("SEND\ndestination:/topic/{topic}\n:value\n\nx\0", "malformed frame", "empty name"),
        ["a NULL inside the headers"] = Text("SEND\ndestination:/topic/{topic}\0\n\nx\0", "malformed frame", "NULL"),
        ["SEND without a destination"] = Text("SEND\n\nx\0", "malformed frame", "'destination' header"),
        ["SEND to an invalid topic name"] = Text("SEND\ndestination:/topic/bad name\n\nx\0", "InvalidName", "'bad name'"),
        ["SEND to a 201-char topic name"] = Text($"SEND\ndestination:/topic/{new string('t', 201)}\n\nx\0", "InvalidName", "1–200"),
        ["SEND to an unknown topic"] = Text("SEND\ndestination:/topic/no-such-topic-anywhere\n\nx\0", "NotFound", "no-such-topic-anywhere"),
        ["SUBSCRIBE without an id"] = Text("SUBSCRIBE\ndestination:/topic/{topic}\n\n\0", "malformed frame", "'id' header"),
        ["NACK of an unknown id"] = Text("NACK\nid:0-0-1\n\n\0", "unknown ack id", "0-0-1"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_frames_get_an_error_naming_the_problem_and_harm_nothing(string name)
    {
        var bad = Cases[name];
        var topic = await TopicWithOneMessageAsync();

        await using (var connection = await RawStompConnection.OpenAsync(gateway.StompPort))
        {
            await connection.ConnectAsync();
            var frames = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bad.Frames).Replace("{topic}", topic, StringComparison.Ordinal));
            if (bad.Frames.Contains((byte)0xC3))
            {
                frames = bad.Frames; // not valid UTF-8: send the exact bytes ({topic} is not used past the bad header)
            }

            try
            {
                await connection.SendAsync(frames);
            }
            catch (IOException)
            {
                // The server may close before it has read everything we sent.
            }

            var (received, closed) = await connection.ReadUntilClosedAsync(TimeSpan.FromSeconds(15));
            Assert.True(closed, $"{name}: the connection stayed open; got {string.Join(" | ", received)}");
            var error = Assert.Single(received, f => f.Command == "ERROR");
            var text = $"{Unescape(error["message"] ?? "")} {error["omq-error-code"]} {error.BodyText}";
            Assert.True(text.Contains(bad.Message, StringComparison.Ordinal), $"{name}: expected '{bad.Message}' in the ERROR frame: {text}");
            foreach (var part in bad.Names)
            {
                Assert.True(text.Contains(part, StringComparison.Ordinal), $"{name}: the ERROR frame does not name '{part}': {text}");
            }
        }

        await AssertStillServingAsync(topic);
    }

    [Fact]
    public async Task An_empty_body_is_accepted_and_a_double_ack_is_harmless()
    {
        var topic = await TopicWithOneMessageAsync();
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();
        await connection.SendAsync($"SUBSCRIBE\nid:s\ndestination:/topic/{topic}\nack:client-individual\nreceipt:sub\n\n\0");
        Assert.Equal("sub", (await connection.ReadFrameAsync())?["receipt-id"]);
        await connection.SendAsync($"SEND\ndestination:/topic/{topic}\nreceipt:empty\n\n\0");
        var frames = new[] { await connection.ReadFrameAsync(), await connection.ReadFrameAsync() };
        Assert.Contains(frames, f => f?.Command == "RECEIPT" && f["receipt-id"] == "empty");
        var message = Assert.Single(frames, f => f?.Command == "MESSAGE")!;
        Assert.Empty(message.Body);

        await connection.SendAsync($"ACK\nid:{message["ack"]}\n\n\0ACK\nid:{message["ack"]}\nreceipt:twice\n\n\0");
        var receipt = await connection.ReadFrameAsync();
        Assert.True(receipt?.Command == "RECEIPT" && receipt["receipt-id"] == "twice", $"expected the receipt of the second ACK, got {receipt}");
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(2, subscription.GetProperty("backlog").GetInt64());
    }

    private async Task<string> TopicWithOneMessageAsync()
    {
        var topic = await gateway.CreateTopicAsync(Unique.Name("stomp-bad"));
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        (await gateway.Http.PostAsJsonAsync($"topics/{topic}/messages", new { text = "before" })).EnsureSuccessStatusCode();
        return topic;
    }

    // A new connection can still publish (with a receipt), and the subscription counts the earlier message too.
    private async Task AssertStillServingAsync(string topic)
    {
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();
        await connection.SendAsync($"SEND\ndestination:/topic/{topic}\nreceipt:after\n\nafter\0");
        var receipt = await connection.ReadFrameAsync();
        Assert.True(receipt?.Command == "RECEIPT" && receipt["receipt-id"] == "after", $"expected RECEIPT after, got {receipt}");
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(2, subscription.GetProperty("backlog").GetInt64());
    }

    private static string Unescape(string raw) => raw.Replace("\\c", ":", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
}
