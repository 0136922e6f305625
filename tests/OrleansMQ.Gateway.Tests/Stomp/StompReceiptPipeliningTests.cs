using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansMQ.Gateway.Tests.Infrastructure;

namespace OrleansMQ.Gateway.Tests.Stomp;

/// <summary>
/// A client that puts a <c>receipt</c> on every SEND and writes them back to back: the gateway keeps reading and
/// publishing while receipts wait for durability, answers them in frame order, and never receipts anything after a
/// failed publish. Raw TCP, exact bytes.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StompReceiptPipeliningTests(GatewayFixture gateway)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Back_to_back_receipted_sends_are_all_receipted_in_order_stored_and_appended_in_batches()
    {
        const int count = 400;
        var topic = await gateway.CreateTopicAsync(Unique.Name("receipts"), new { partitions = 1 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();

        // Everything in one write: nothing is waited for between frames.
        await connection.SendAsync(string.Concat(Enumerable.Range(0, count).Select(i => $"SEND\ndestination:/topic/{topic}\nreceipt:r{i}\n\nmessage {i}\0")));

        for (var i = 0; i < count; i++)
        {
            var frame = await connection.ReadFrameAsync(Deadline);
            Assert.True(frame?.Command == "RECEIPT" && frame["receipt-id"] == $"r{i}", $"frame {i}: expected RECEIPT r{i}, got {frame?.ToString() ?? "a close"}");
        }

        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.Equal(count, subscription.GetProperty("backlog").GetInt64());

        // A gateway that waited for each receipt before reading on would append one message per call (count appends).
        var appends = await AppendCallsAsync(topic, count);
        Assert.True(appends <= count / 2, $"{count} receipted SENDs took {appends} partition appends: the gateway waited for each receipt before reading the next frame");
    }

    [Fact]
    public async Task Subscribe_and_messages_interleaved_with_pipelined_receipted_sends_still_flow()
    {
        const int count = 100;
        var topic = await gateway.CreateTopicAsync(Unique.Name("receipts-sub"), new { partitions = 1 });
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();

        // Half the SENDs, a SUBSCRIBE from the earliest offset with its own receipt, the other half: one write.
        var frames = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i == count / 2)
            {
                frames.Append(CultureInfo.InvariantCulture, $"SUBSCRIBE\nid:s\ndestination:/topic/{topic}\nx-start:earliest\nack:client-individual\nreceipt:sub\n\n\0");
            }

            frames.Append(CultureInfo.InvariantCulture, $"SEND\ndestination:/topic/{topic}\nreceipt:r{i}\n\nmessage {i}\0");
        }

        await connection.SendAsync(frames.ToString());

        var receipts = new List<string>();
        var messages = new List<RawFrame>();
        while (receipts.Count < count + 1 || messages.Count < count)
        {
            var frame = await connection.ReadFrameAsync(Deadline);
            Assert.True(frame is not null, $"the server closed after {receipts.Count} receipts and {messages.Count} messages");
            switch (frame.Command)
            {
                case "RECEIPT":
                    receipts.Add(frame["receipt-id"]!);
                    break;
                case "MESSAGE":
                    messages.Add(frame);
                    await connection.SendAsync($"ACK\nid:{frame["ack"]}\n\n\0");
                    break;
                default:
                    Assert.Fail($"unexpected {frame}");
                    break;
            }
        }

        string[] expected = [.. Enumerable.Range(0, count / 2).Select(i => $"r{i}"), "sub", .. Enumerable.Range(count / 2, count - (count / 2)).Select(i => $"r{i}")];
        Assert.Equal(expected, receipts);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"message {i}"), messages.Select(m => m.BodyText));

        // A receipted DISCONNECT comes after everything, and the connection still ends cleanly.
        await connection.SendAsync("DISCONNECT\nreceipt:bye\n\n\0");
        var (tail, closed) = await connection.ReadUntilClosedAsync(Deadline);
        Assert.True(closed);
        Assert.Equal("bye", Assert.Single(tail, f => f.Command == "RECEIPT")["receipt-id"]);
        Assert.DoesNotContain(tail, f => f.Command == "ERROR");
    }

    [Fact]
    public async Task A_publish_that_fails_behind_pipelined_receipts_gives_an_error_and_no_later_receipt()
    {
        const int before = 50;
        const int after = 50;
        // The topic takes at most 1 KiB per message; the producer refuses the big one after the SENDs before it were handed on.
        var topic = await gateway.CreateTopicAsync(Unique.Name("receipts-fail"), new { partitions = 1, maxMessageBytes = 1024 });
        (await gateway.Http.PutAsJsonAsync($"topics/{topic}/subscriptions/audit", new { start = "Earliest" })).EnsureSuccessStatusCode();
        await using var connection = await RawStompConnection.OpenAsync(gateway.StompPort);
        await connection.ConnectAsync();

        var frames = new StringBuilder();
        for (var i = 0; i < before; i++)
        {
            frames.Append(CultureInfo.InvariantCulture, $"SEND\ndestination:/topic/{topic}\nreceipt:r{i}\n\nmessage {i}\0");
        }

        frames.Append(CultureInfo.InvariantCulture, $"SEND\ndestination:/topic/{topic}\nreceipt:big\n\n{new string('x', 4096)}\0");
        for (var i = before; i < before + after; i++)
        {
            frames.Append(CultureInfo.InvariantCulture, $"SEND\ndestination:/topic/{topic}\nreceipt:r{i}\n\nmessage {i}\0");
        }

        await connection.SendAsync(frames.ToString());
        var (received, closed) = await connection.ReadUntilClosedAsync(Deadline);

        Assert.True(closed, "the server kept the connection open after a failed publish");
        var error = received[^1];
        Assert.True(error.Command == "ERROR" && error["omq-error-code"] == "MessageTooLarge", $"expected ERROR MessageTooLarge last, got {error}");
        Assert.Equal("big", error["receipt-id"]);
        // Every SEND before the failed one is receipted, in order, and nothing after it claims success.
        var receipts = received.Take(received.Count - 1).ToList();
        Assert.All(receipts, f => Assert.Equal("RECEIPT", f.Command));
        Assert.Equal(Enumerable.Range(0, before).Select(i => $"r{i}"), receipts.Select(f => f["receipt-id"]));

        // Everything receipted is stored (later SENDs may be too: they were never confirmed, and the client resends them).
        var subscription = await gateway.Http.GetFromJsonAsync<JsonElement>($"topics/{topic}/subscriptions/audit");
        Assert.InRange(subscription.GetProperty("backlog").GetInt64(), before, before + after);
    }

    /// <summary>The topic's partition append calls from the Prometheus endpoint, once all <paramref name="messages"/> are counted.</summary>
    private async Task<long> AppendCallsAsync(string topic, int messages)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var body = await gateway.Http.GetStringAsync("metrics");
            var sum = Metric(body, "omq_append_batch_size_sum", topic);
            if (sum == messages)
            {
                return Metric(body, "omq_append_batch_size_count", topic) ?? 0;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/metrics never counted {messages} appended messages of {topic} (saw {sum?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
            await Task.Delay(250);
        }
    }

    private static long? Metric(string body, string name, string topic)
    {
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains($"topic=\"{topic}\"", StringComparison.Ordinal))
            {
                var value = line[(line.LastIndexOf(' ') + 1)..];
                return (long)double.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
