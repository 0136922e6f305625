using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Http.Contracts;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.Http;

/// <summary>Topic, queue, subscription and exchange administration. PUT creates idempotently (same definition = 200, different = 409).</summary>
internal static class AdminEndpoints
{
    public static void Map(RouteGroupBuilder topics, RouteGroupBuilder queues, RouteGroupBuilder exchanges)
    {
        topics.MapGet("/", ListTopicsAsync)
            .WithName("ListTopics").WithSummary("Names of the topics and queues (dead-letter topics included) the caller has any access to.").Produces<IReadOnlyList<string>>();
        topics.MapPut("/{topic}", async (string topic, CreateTopicRequest? request, IOrleansMQClient client, CancellationToken ct) =>
                TopicResponse.From(await client.Admin.CreateTopicAsync(topic, (request ?? new CreateTopicRequest()).ToSpec(), ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("CreateTopic").WithSummary("Creates a topic.").Produces<TopicResponse>().ProducesGatewayProblems();
        topics.MapGet("/{topic}", async (string topic, IOrleansMQClient client, CancellationToken ct) => TopicResponse.From(await client.Admin.GetTopicAsync(topic, ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("GetTopic").WithSummary("A topic or queue with its subscriptions.").Produces<TopicResponse>().ProducesGatewayProblems();
        topics.MapDelete("/{topic}", DeleteTopicAsync)
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("DeleteTopic").WithSummary("Deletes a topic or queue with its subscriptions and data.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();

        topics.MapPut("/{topic}/subscriptions/{subscription}", async (string topic, string subscription, CreateSubscriptionRequest? request, IOrleansMQClient client, CancellationToken ct) =>
                SubscriptionResponse.From(topic, subscription, await client.Admin.CreateSubscriptionAsync(topic, subscription, (request ?? new CreateSubscriptionRequest()).ToSpec(), ct), null))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("CreateSubscription").WithSummary("Creates a durable subscription.").Produces<SubscriptionResponse>().ProducesGatewayProblems();
        topics.MapGet("/{topic}/subscriptions/{subscription}", GetSubscriptionAsync)
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("GetSubscription").WithSummary("A subscription with its per-partition cursor state and backlog.").Produces<SubscriptionResponse>().ProducesGatewayProblems();
        topics.MapDelete("/{topic}/subscriptions/{subscription}", async (string topic, string subscription, IOrleansMQClient client, CancellationToken ct) =>
            {
                await client.Admin.DeleteSubscriptionAsync(topic, subscription, ct);
                return TypedResults.NoContent();
            })
            .Requires(GatewayAction.Admin, GatewayResourceKind.Topic).WithName("DeleteSubscription").WithSummary("Deletes a subscription and its cursors.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();

        queues.MapPut("/{queue}", async (string queue, CreateQueueRequest? request, IOrleansMQClient client, CancellationToken ct) =>
                TopicResponse.From(await client.Admin.CreateQueueAsync(queue, (request ?? new CreateQueueRequest()).ToSpec(), ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Queue).WithName("CreateQueue").WithSummary("Creates a queue (a topic with a Shared subscription named 'queue').").Produces<TopicResponse>().ProducesGatewayProblems();
        queues.MapGet("/{queue}", GetQueueAsync)
            .Requires(GatewayAction.Admin, GatewayResourceKind.Queue).WithName("GetQueue").WithSummary("A queue with its backlog.").Produces<SubscriptionResponse>().ProducesGatewayProblems();
        queues.MapDelete("/{queue}", DeleteTopicAsync)
            .Requires(GatewayAction.Admin, GatewayResourceKind.Queue).WithName("DeleteQueue").WithSummary("Deletes a queue and its messages.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();

        exchanges.MapPut("/{exchange}", async (string exchange, CreateExchangeRequest? request, IOrleansMQClient client, CancellationToken ct) =>
                ExchangeResponse.From(await client.Admin.CreateExchangeAsync(exchange, (request ?? new CreateExchangeRequest()).ToSpec(), ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Exchange).WithName("CreateExchange").WithSummary("Creates an exchange.").Produces<ExchangeResponse>().ProducesGatewayProblems();
        exchanges.MapGet("/{exchange}", async (string exchange, IOrleansMQClient client, CancellationToken ct) => ExchangeResponse.From(await client.Admin.GetExchangeAsync(exchange, ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Exchange).WithName("GetExchange").WithSummary("An exchange with its bindings.").Produces<ExchangeResponse>().ProducesGatewayProblems();
        exchanges.MapDelete("/{exchange}", async (string exchange, IOrleansMQClient client, CancellationToken ct) =>
            {
                await client.Admin.DeleteExchangeAsync(exchange, ct);
                return TypedResults.NoContent();
            })
            .Requires(GatewayAction.Admin, GatewayResourceKind.Exchange).WithName("DeleteExchange").WithSummary("Deletes an exchange (its destinations are untouched).").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();
        exchanges.MapPost("/{exchange}/bindings", async (string exchange, BindingRequest binding, HttpContext context, IGatewayAuthorizer authorizer, IOrleansMQClient client, CancellationToken ct) =>
                ExchangeResponse.From(await client.Admin.BindAsync(exchange, AuthorizedBinding(binding, context, authorizer), ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Exchange).WithName("Bind").WithSummary("Binds the exchange to a topic or queue; every later publish routes by it.").Produces<ExchangeResponse>().ProducesGatewayProblems();
        exchanges.MapPost("/{exchange}/unbind", async (string exchange, BindingRequest binding, HttpContext context, IGatewayAuthorizer authorizer, IOrleansMQClient client, CancellationToken ct) =>
                ExchangeResponse.From(await client.Admin.UnbindAsync(exchange, AuthorizedBinding(binding, context, authorizer), ct)))
            .Requires(GatewayAction.Admin, GatewayResourceKind.Exchange).WithName("Unbind").WithSummary("Removes a binding.").Produces<ExchangeResponse>().ProducesGatewayProblems();
    }

    private static async Task<IReadOnlyList<string>> ListTopicsAsync(HttpContext context, IGatewayAuthorizer authorizer, IOrleansMQClient client, CancellationToken ct)
    {
        authorizer.RequireAuthenticated(context.User);
        var names = await client.Admin.ListTopicsAsync(ct);
        return [.. names.Where(name => Enum.GetValues<GatewayAction>().Any(action =>
            authorizer.IsAllowed(context.User, action, GatewayResourceKind.Topic, name) || authorizer.IsAllowed(context.User, action, GatewayResourceKind.Queue, name)))];
    }

    /// <summary>A binding changes what reaches its destination, so it needs admin on the destination as well as on the exchange.</summary>
    private static Binding AuthorizedBinding(BindingRequest request, HttpContext context, IGatewayAuthorizer authorizer)
    {
        var binding = request.ToBinding();
        authorizer.Authorize(context.User, GatewayAction.Admin, GatewayResourceKind.Topic, binding.Destination);
        return binding;
    }

    private static async Task<IResult> DeleteTopicAsync(string topic, IOrleansMQClient client, CancellationToken ct)
    {
        await client.Admin.DeleteTopicAsync(topic, ct);
        return TypedResults.NoContent();
    }

    private static async Task<SubscriptionResponse> GetSubscriptionAsync(string topic, string subscription, IOrleansMQClient client, CancellationToken ct)
    {
        var info = await client.Admin.GetTopicAsync(topic, ct);
        if (!info.Subscriptions.TryGetValue(Names.Validate(subscription, "subscription"), out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        var stats = await client.Admin.GetSubscriptionStatsAsync(topic, subscription, ct);
        return SubscriptionResponse.From(topic, subscription, spec, stats);
    }

    private static async Task<SubscriptionResponse> GetQueueAsync(string queue, IOrleansMQClient client, CancellationToken ct)
    {
        var info = await client.Admin.GetTopicAsync(queue, ct);
        return info.Spec.IsQueue
            ? await GetSubscriptionAsync(queue, IOrleansMQAdmin.QueueSubscription, client, ct)
            : throw new OrleansMQException(ErrorCode.NotFound, $"'{queue}' is a topic, not a queue.");
    }
}
