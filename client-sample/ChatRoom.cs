using OrleansMQ.Client;

namespace OrleansMQ.ClientSample;

/// <summary>
/// A chat room is a topic (one partition, so everyone sees one order); each member has an Exclusive subscription of
/// their own, so everyone gets every message, and a new member's subscription starts back in time to replay history.
/// </summary>
internal sealed class ChatRoom(IOrleansMQClient mq, string room)
{
    public const string NickHeader = "nick";

    public string Topic { get; } = $"chat.{room}";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        try
        {
            await mq.Admin.CreateTopicAsync(Topic, new TopicSpec { Partitions = 1, Retention = new RetentionPolicy { MaxAge = TimeSpan.FromDays(7) } }, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.AlreadyExists)
        {
            // Someone created it with other settings; use it as it is.
        }
    }

    /// <summary>Joins (idempotent): the member's subscription replays <paramref name="history"/> the first time.</summary>
    public async Task<IConsumer> JoinAsync(string nick, TimeSpan history, CancellationToken cancellationToken)
    {
        var subscription = $"member.{nick}";
        var info = await mq.Admin.GetTopicAsync(Topic, cancellationToken);
        if (!info.Subscriptions.ContainsKey(subscription))
        {
            await mq.Admin.CreateSubscriptionAsync(Topic, subscription, new SubscriptionSpec
            {
                Type = SubscriptionType.Exclusive,
                Start = StartPosition.AtTimestamp(DateTimeOffset.UtcNow - history),
                MaxDeliveries = 0,
            }, cancellationToken);
        }

        return mq.CreateConsumer(Topic, subscription, new ConsumerOptions { ConsumerId = $"{nick}-{Environment.ProcessId}", PollWait = TimeSpan.FromSeconds(1) });
    }

    public IProducer CreateSender() => mq.CreateProducer(Topic);

    public static Message Say(string nick, string text) => Message.FromText(text) with { Headers = new Dictionary<string, string> { [NickHeader] = nick } };

    public static string Format(Delivery d) => $"[{d.Message.Timestamp:HH:mm:ss}] <{d.Message.Headers.GetValueOrDefault(NickHeader, "?")}> {d.BodyAsString()}";
}
