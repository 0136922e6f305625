using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OrleansMQ.Gateway.Http.Contracts;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Gateway.Publishing;

namespace OrleansMQ.Gateway.Http;

/// <summary>Publishing over HTTP: one message or a batch to a topic or queue; a message through an exchange.</summary>
internal static class PublishEndpoints
{
    public static void Map(RouteGroupBuilder topics, RouteGroupBuilder queues, RouteGroupBuilder exchanges)
    {
        topics.MapPost("/{topic}/messages", PublishAsync).Requires(GatewayAction.Produce, GatewayResourceKind.Topic).WithName("PublishToTopic")
            .WithSummary("Publishes one message; answers once it is durable.").Produces<PublishResponse>().ProducesGatewayProblems();
        topics.MapPost("/{topic}/messages/batch", PublishBatchAsync).Requires(GatewayAction.Produce, GatewayResourceKind.Topic).WithName("PublishBatchToTopic")
            .WithSummary("Publishes several messages in one append per partition; receipts in request order.").Produces<PublishBatchResponse>().ProducesGatewayProblems();
        queues.MapPost("/{queue}/messages", (string queue, PublishRequest request, GatewayProducers producers, CancellationToken ct) => PublishAsync(queue, request, producers, ct))
            .Requires(GatewayAction.Produce, GatewayResourceKind.Queue).WithName("PublishToQueue").WithSummary("Publishes one message to a queue.").Produces<PublishResponse>().ProducesGatewayProblems();
        queues.MapPost("/{queue}/messages/batch", (string queue, PublishBatchRequest request, GatewayProducers producers, IOptions<OrleansMQGatewayOptions> options, CancellationToken ct) =>
                PublishBatchAsync(queue, request, producers, options, ct))
            .Requires(GatewayAction.Produce, GatewayResourceKind.Queue).WithName("PublishBatchToQueue").WithSummary("Publishes several messages to a queue.").Produces<PublishBatchResponse>().ProducesGatewayProblems();
        exchanges.MapPost("/{exchange}/messages", PublishToExchangeAsync).Requires(GatewayAction.Produce, GatewayResourceKind.Exchange).WithName("PublishToExchange")
            .WithSummary("Publishes one message through an exchange with a routing key; answers once it is durable in every destination.")
            .Produces<RoutedPublishResponse>().ProducesGatewayProblems();
    }

    private static async Task<PublishResponse> PublishAsync(string topic, PublishRequest request, GatewayProducers producers, CancellationToken ct)
    {
        var receipt = await producers.PublishAsync(topic, request.ToMessage(), ct);
        return new PublishResponse(receipt.Partition, receipt.Offset, receipt.Duplicate);
    }

    private static async Task<PublishBatchResponse> PublishBatchAsync(string topic, PublishBatchRequest request, GatewayProducers producers,
        IOptions<OrleansMQGatewayOptions> options, CancellationToken ct)
    {
        var max = options.Value.MaxBatchMessages;
        if (request.Messages is not { Count: > 0 } || request.Messages.Count > max)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"A batch holds 1–{max} messages; this one has {request.Messages?.Count ?? 0}.");
        }

        var receipts = await producers.PublishBatchAsync(topic, [.. request.Messages.Select(m => m.ToMessage())], ct);
        return new PublishBatchResponse([.. receipts.Select(r => new PublishResponse(r.Partition, r.Offset, r.Duplicate))]);
    }

    private static async Task<RoutedPublishResponse> PublishToExchangeAsync(string exchange, ExchangePublishRequest request, GatewayProducers producers, CancellationToken ct)
    {
        var routed = await producers.PublishToExchangeAsync(exchange, request.RoutingKey, request.ToMessage(), ct);
        return new RoutedPublishResponse([.. routed.Deliveries.Select(d => new RoutedDestination(d.Topic, d.Receipt.Partition, d.Receipt.Offset))], routed.Alternate);
    }
}
