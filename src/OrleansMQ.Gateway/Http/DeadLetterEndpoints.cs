using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Http.Contracts;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Grains;

namespace OrleansMQ.Gateway.Http;

/// <summary>Browsing a subscription's dead-letter topic and re-driving it.</summary>
internal static class DeadLetterEndpoints
{
    private const int MaxPage = 1000;

    public static void Map(RouteGroupBuilder topics, RouteGroupBuilder queues)
    {
        topics.MapGet("/{topic}/subscriptions/{subscription}/dlq", BrowseAsync).Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("BrowseDeadLetters")
            .WithSummary("Reads dead-lettered messages from offset 'from' (default: the oldest retained), at most 'max' (default 100).")
            .Produces<DeadLetterPage>().ProducesGatewayProblems();
        topics.MapPost("/{topic}/subscriptions/{subscription}/redrive", RedriveAsync).Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("Redrive")
            .WithSummary("Moves up to 'max' dead-lettered messages back to the topic (at-least-once).").Produces<RedriveResponse>().ProducesGatewayProblems();
        queues.MapGet("/{queue}/dlq", (string queue, long? from, int? max, string? encoding, IOrleansMQClient client, IGrainFactory grains, CancellationToken ct) =>
                BrowseAsync(queue, IOrleansMQAdmin.QueueSubscription, from, max, encoding, client, grains, ct))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Queue).WithName("BrowseQueueDeadLetters").WithSummary("Reads a queue's dead-lettered messages.").Produces<DeadLetterPage>().ProducesGatewayProblems();
        queues.MapPost("/{queue}/redrive", (string queue, int? max, IOrleansMQClient client, CancellationToken ct) =>
                RedriveAsync(queue, IOrleansMQAdmin.QueueSubscription, max, client, ct))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Queue).WithName("RedriveQueue").WithSummary("Moves a queue's dead-lettered messages back to it.").Produces<RedriveResponse>().ProducesGatewayProblems();
    }

    private static async Task<DeadLetterPage> BrowseAsync(string topic, string subscription, long? from, int? max, string? encoding,
        IOrleansMQClient client, IGrainFactory grains, CancellationToken ct)
    {
        var info = await client.Admin.GetTopicAsync(topic, ct);
        if (!info.Subscriptions.TryGetValue(Names.Validate(subscription, "subscription"), out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        var count = max ?? 100;
        if (count is < 1 or > MaxPage || from < 0)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"max must be 1–{MaxPage} and from ≥ 0.");
        }

        var dlq = spec.DeadLetterTopicFor(topic, subscription);
        ReadResult read;
        try
        {
            // Dead-letter topics have one partition (see TopicGrain.CreateSubscriptionAsync).
            read = await grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(dlq, 0)).ReadAsync(from ?? 0, count, 4 << 20).WaitAsync(ct);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound && spec.MaxDeliveries == 0)
        {
            // A subscription that never dead-letters has no dead-letter topic.
            return new DeadLetterPage(dlq, [], 0);
        }

        var next = read.Messages.Count > 0 ? read.Messages[^1].Offset + 1 : Math.Max(from ?? 0, read.LowWatermark);
        return new DeadLetterPage(dlq, [.. read.Messages.Select(m => MessageResponse.From(m, encoding == "base64"))], next);
    }

    private static async Task<RedriveResponse> RedriveAsync(string topic, string subscription, int? max, IOrleansMQClient client, CancellationToken ct)
    {
        var count = max ?? int.MaxValue;
        if (count < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, "max must be ≥ 1.");
        }

        return new RedriveResponse(await client.Admin.RedriveAsync(topic, Names.Validate(subscription, "subscription"), count, ct));
    }
}
