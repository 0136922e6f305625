using System.Text.Json;
using OrleansMQ.Gateway.Http;

namespace OrleansMQ.Gateway.WebSockets;

/// <summary>What a client frame of the WebSocket stream protocol asks for.</summary>
internal enum StreamClientFrameType
{
    /// <summary><c>{"type":"credit","n":N}</c>: the server may send N more messages.</summary>
    Credit,

    /// <summary><c>{"type":"ack","id":"…"}</c>: the delivery is done with.</summary>
    Ack,

    /// <summary><c>{"type":"nack","id":"…","delayMs":D,"reason":"…"}</c>: redeliver it (after the subscription's backoff, at the earliest after D ms).</summary>
    Nack,

    /// <summary><c>{"type":"ping"}</c>: answered with a pong frame carrying the session's unspent credit and deliveries in flight.</summary>
    Ping,
}

/// <summary>One parsed client frame (a JSON object in a WebSocket text message).</summary>
internal readonly record struct StreamClientFrame(StreamClientFrameType Type, int Credit, DeliveryId Id, TimeSpan NackDelay, string? Reason)
{
    /// <summary>The longest nack reason kept.</summary>
    public const int MaxReasonLength = 1024;

    /// <summary>Parses a frame; InvalidArgument (naming what is wrong) for anything that is not a valid frame.</summary>
    public static StreamClientFrame Parse(ReadOnlyMemory<byte> utf8, TimeSpan maxNackDelay)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Invalid($"a frame must be a JSON object: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("a frame must be a JSON object.");
            }

            var type = String(root, "type") ?? throw Invalid("a frame needs a string 'type' (credit, ack, nack or ping).");
            switch (type)
            {
                case "credit":
                    var n = Integer(root, "n") ?? throw Invalid("a credit frame needs an integer 'n'.");
                    return n is >= 1 and <= int.MaxValue
                        ? new StreamClientFrame(StreamClientFrameType.Credit, (int)n, default, TimeSpan.Zero, null)
                        : throw Invalid($"credit n {n} must be ≥ 1.");
                case "ack":
                    return new StreamClientFrame(StreamClientFrameType.Ack, 0, ReadId(root), TimeSpan.Zero, null);
                case "nack":
                    var delay = Integer(root, "delayMs") ?? 0;
                    if (delay < 0 || delay > maxNackDelay.TotalMilliseconds)
                    {
                        throw Invalid($"nack delayMs {delay} must be 0–{(long)maxNackDelay.TotalMilliseconds} (the subscription's ack timeout).");
                    }

                    var reason = String(root, "reason");
                    if (reason is { Length: > MaxReasonLength })
                    {
                        reason = reason[..MaxReasonLength];
                    }

                    return new StreamClientFrame(StreamClientFrameType.Nack, 0, ReadId(root), TimeSpan.FromMilliseconds(delay), reason);
                case "ping":
                    return new StreamClientFrame(StreamClientFrameType.Ping, 0, default, TimeSpan.Zero, null);
                default:
                    throw Invalid($"unknown frame type '{(type.Length > 40 ? type[..40] + "…" : type)}' (credit, ack, nack or ping).");
            }
        }
    }

    private static DeliveryId ReadId(JsonElement root) =>
        DeliveryId.Parse(String(root, "id") ?? throw Invalid("an ack or nack frame needs a string 'id' (from the message frame)."));

    private static string? String(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw Invalid($"'{name}' must be a string.");

    private static long? Integer(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number
        : throw Invalid($"'{name}' must be an integer.");

    private static OrleansMQException Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
