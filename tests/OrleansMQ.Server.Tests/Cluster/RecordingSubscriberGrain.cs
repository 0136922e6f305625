using System.Collections.Concurrent;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

public interface IRecordingSubscriberGrain : IMessageConsumerGrain, IGrainWithStringKey
{
}

/// <summary>A user subscriber grain: records what it gets; fails the first delivery of bodies starting with "fail-once".</summary>
public sealed class RecordingSubscriberGrain : Grain, IRecordingSubscriberGrain
{
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<(string Body, int DeliveryCount, string Silo)>> Received = new();

    /// <summary>Keys whose grain throws for every batch (a subscriber that is down).</summary>
    public static readonly ConcurrentDictionary<string, bool> Reject = new();

    public Task OnMessagesAsync(MessageBatch batch)
    {
        if (Reject.GetValueOrDefault(this.GetPrimaryKeyString()))
        {
            throw new InvalidOperationException("subscriber is down");
        }

        var log = Received.GetOrAdd(this.GetPrimaryKeyString(), _ => new());
        foreach (var d in batch.Messages)
        {
            var body = d.Message.BodyAsString();
            if (body.StartsWith("fail-once", StringComparison.Ordinal) && d.DeliveryCount == 1)
            {
                throw new InvalidOperationException($"cannot handle {body} yet");
            }
        }

        foreach (var d in batch.Messages)
        {
            log.Enqueue((d.Message.BodyAsString(), d.DeliveryCount, RuntimeIdentity));
        }

        return Task.CompletedTask;
    }
}
