using System.Text;
using Orleans.Runtime;
using Orleans.Serialization;

namespace OrleansMQ.Streaming.Internal;

/// <summary>Turns stream events into OrleansMQ messages and back (see <see cref="StreamMessageHeaders"/>).</summary>
internal sealed class StreamMessageCodec(Serializer serializer)
{
    public Message Encode<T>(StreamId streamId, T item)
    {
        var ns = streamId.GetNamespace() ?? "";
        var key = streamId.GetKeyAsString();
        var headers = new Dictionary<string, string>(3, StringComparer.Ordinal)
        {
            [StreamMessageHeaders.Namespace] = ns,
            [StreamMessageHeaders.Key] = key,
        };
        if (item?.GetType().FullName is { } type && type.Length <= 256)
        {
            headers[StreamMessageHeaders.EventType] = type;
        }

        return new Message(serializer.SerializeToArray<object?>(item))
        {
            Key = streamId.ToString(),
            MessageId = Guid.NewGuid().ToString("N"),
            ContentType = StreamMessageHeaders.ContentType,
            Headers = headers,
        };
    }

    /// <summary>The stream event in a stored message, or null when the message is not a stream event.</summary>
    public OrleansMQBatchContainer? Decode(StoredMessage message, DeliveryTag tag)
    {
        if (!message.Headers.TryGetValue(StreamMessageHeaders.Key, out var key) || message.ContentType != StreamMessageHeaders.ContentType)
        {
            return null;
        }

        var ns = message.Headers.GetValueOrDefault(StreamMessageHeaders.Namespace) ?? "";
        var streamId = StreamId.Create(Encoding.UTF8.GetBytes(ns), Encoding.UTF8.GetBytes(key));
        var item = serializer.Deserialize<object?>(message.Body.Span);
        return new OrleansMQBatchContainer(streamId, item, OrleansMQStreamSequenceToken.ForMessage(message.Offset, message.Timestamp), tag);
    }
}
