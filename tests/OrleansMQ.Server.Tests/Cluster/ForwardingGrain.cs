using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

public interface IForwardingGrain : IMessageConsumerGrain, IGrainWithStringKey
{
}

/// <summary>
/// A subscriber grain that uses the OrleansMQ client from inside the silo: every message pushed to it is published,
/// upper-cased, to the topic named by its key (a routing/transform step written by a user).
/// </summary>
public sealed class ForwardingGrain(IOrleansMQClient mq) : Grain, IForwardingGrain
{
    public async Task OnMessagesAsync(MessageBatch batch)
    {
        var target = this.GetPrimaryKeyString();
        foreach (var d in batch.Messages)
        {
            await mq.PublishAsync(target, Message.FromText(d.Message.BodyAsString().ToUpperInvariant(), d.Message.Key));
        }
    }
}
