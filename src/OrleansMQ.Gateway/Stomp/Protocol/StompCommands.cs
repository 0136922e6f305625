namespace OrleansMQ.Gateway.Stomp.Protocol;

/// <summary>STOMP 1.2 commands and the header names the gateway reads or writes.</summary>
internal static class StompCommands
{
    public const string Connect = "CONNECT";
    public const string Stomp = "STOMP";
    public const string Connected = "CONNECTED";
    public const string Send = "SEND";
    public const string Subscribe = "SUBSCRIBE";
    public const string Unsubscribe = "UNSUBSCRIBE";
    public const string Ack = "ACK";
    public const string Nack = "NACK";
    public const string Begin = "BEGIN";
    public const string Commit = "COMMIT";
    public const string Abort = "ABORT";
    public const string Disconnect = "DISCONNECT";
    public const string Message = "MESSAGE";
    public const string Receipt = "RECEIPT";
    public const string Error = "ERROR";

    /// <summary>CONNECT, STOMP and CONNECTED keep their header octets as they are (no escaping), for STOMP 1.0 compatibility.</summary>
    public static bool UsesEscaping(string command) => command is not (Connect or Stomp or Connected);
}

/// <summary>Header names.</summary>
internal static class StompHeaders
{
    public const string AcceptVersion = "accept-version";
    public const string Version = "version";
    public const string Host = "host";
    public const string Login = "login";
    public const string Passcode = "passcode";
    public const string Authorization = "Authorization";
    public const string HeartBeat = "heart-beat";
    public const string Session = "session";
    public const string Server = "server";
    public const string Destination = "destination";
    public const string ContentType = "content-type";
    public const string ContentLength = "content-length";
    public const string Receipt = "receipt";
    public const string ReceiptId = "receipt-id";
    public const string Transaction = "transaction";
    public const string Id = "id";
    public const string Ack = "ack";
    public const string Subscription = "subscription";
    public const string MessageId = "message-id";
    public const string Message = "message";
    public const string Redelivered = "redelivered";

    // OrleansMQ extensions.
    public const string Key = "omq-key";
    public const string ApplicationMessageId = "omq-message-id";
    public const string Topic = "omq-topic";
    public const string Partition = "omq-partition";
    public const string Offset = "omq-offset";
    public const string DeliveryCount = "omq-delivery-count";
    public const string Timestamp = "omq-timestamp";
    public const string ErrorCode = "omq-error-code";
    public const string DurableSubscriptionName = "durable-subscription-name";
    public const string SubscriptionName = "x-subscription";
    public const string SubscriptionType = "x-subscription-type";
    public const string Start = "x-start";
    public const string PrefetchCount = "prefetch-count";
    public const string NackReason = "x-reason";
}
