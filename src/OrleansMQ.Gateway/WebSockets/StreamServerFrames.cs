using System.Buffers;
using System.Text.Json;
using OrleansMQ.Gateway.Http;
using OrleansMQ.Gateway.Http.Contracts;

namespace OrleansMQ.Gateway.WebSockets;

/// <summary>Writes the server frames of the WebSocket stream protocol as UTF-8 JSON.</summary>
internal static class StreamServerFrames
{
    /// <summary>
    /// <c>{"type":"message","id","topic","partition","offset","deliveryCount","redelivered","key","messageId",
    /// "contentType","timestamp","headers",("text"|"base64")}</c>: the body is in <c>text</c> when it is UTF-8 text
    /// (unless the session asked for base64), else in <c>base64</c>.
    /// </summary>
    public static ReadOnlyMemory<byte> Message(DeliveredMessage delivery, bool forceBase64)
    {
        var m = MessageResponse.From(delivery.Message, forceBase64);
        return Write(json =>
        {
            json.WriteString("type", "message");
            json.WriteString("id", DeliveryId.Of(delivery).ToString());
            json.WriteString("topic", delivery.Message.Topic);
            json.WriteNumber("partition", m.Partition);
            json.WriteNumber("offset", m.Offset);
            json.WriteNumber("deliveryCount", delivery.DeliveryCount);
            json.WriteBoolean("redelivered", delivery.Redelivered);
            WriteOptional(json, "key", m.Key);
            WriteOptional(json, "messageId", m.MessageId);
            WriteOptional(json, "contentType", m.ContentType);
            json.WriteString("timestamp", m.Timestamp);
            json.WriteStartObject("headers");
            foreach (var (name, value) in m.Headers)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            if (m.Text is not null)
            {
                json.WriteString("text", m.Text);
            }
            else
            {
                json.WriteString("base64", m.Base64);
            }
        });
    }

    /// <summary><c>{"type":"pong","credit":N,"inFlight":N}</c>.</summary>
    public static ReadOnlyMemory<byte> Pong(long credit, int inFlight) => Write(json =>
    {
        json.WriteString("type", "pong");
        json.WriteNumber("credit", credit);
        json.WriteNumber("inFlight", inFlight);
    });

    /// <summary>
    /// <c>{"type":"error","code":"…","message":"…","fatal":bool[,"id":"…"]}</c>. A fatal error is followed by the close
    /// of the WebSocket; a non-fatal one reports a failed ack/nack of delivery <paramref name="id"/>.
    /// </summary>
    public static ReadOnlyMemory<byte> Error(ErrorCode code, string message, bool fatal, string? id = null) => Write(json =>
    {
        json.WriteString("type", "error");
        json.WriteString("code", code.ToString());
        json.WriteString("message", message);
        json.WriteBoolean("fatal", fatal);
        WriteOptional(json, "id", id);
    });

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
