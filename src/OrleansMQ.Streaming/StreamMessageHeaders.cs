namespace OrleansMQ.Streaming;

/// <summary>
/// How a stream event looks as an OrleansMQ message, for consumers outside Orleans Streams: one message per event, the
/// body is the event in the Orleans binary serializer format (<see cref="ContentType"/>), the key is the stream id
/// (<c>{namespace}/{key}</c>) and these headers name the stream.
/// </summary>
public static class StreamMessageHeaders
{
    /// <summary>The stream namespace (empty when the stream has none).</summary>
    public const string Namespace = "omq-stream-namespace";

    /// <summary>The stream key.</summary>
    public const string Key = "omq-stream-key";

    /// <summary>The .NET type of the event (informational).</summary>
    public const string EventType = "omq-stream-event-type";

    /// <summary>The content type of the body: Orleans' serializer, decodable with <c>Serializer.Deserialize&lt;object&gt;</c>.</summary>
    public const string ContentType = "application/x-orleans-serialized";
}
