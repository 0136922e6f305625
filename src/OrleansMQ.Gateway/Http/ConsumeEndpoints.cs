using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OrleansMQ.Client;
using OrleansMQ.Gateway.Http.Contracts;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Gateway.Http.Pull;

namespace OrleansMQ.Gateway.Http;

/// <summary>
/// Pull-consume over HTTP: receive (long poll) then ack or nack by delivery id. The consumer id (header
/// <c>OMQ-Consumer-Id</c> or query <c>consumer</c>; generated when absent and returned) selects the pull session.
/// </summary>
internal static class ConsumeEndpoints
{
    public const string ConsumerIdHeader = "OMQ-Consumer-Id";

    public static void Map(RouteGroupBuilder topics, RouteGroupBuilder queues)
    {
        topics.MapPost("/{topic}/subscriptions/{subscription}/receive", ReceiveAsync).Requires(GatewayAction.Consume, GatewayResourceKind.Topic).WithName("Receive")
            .WithSummary("Long-polls for deliveries (max = most to return, wait = how long to wait for the first, e.g. 5s or 500ms).")
            .Produces<ReceiveResponse>().ProducesGatewayProblems();
        topics.MapPost("/{topic}/subscriptions/{subscription}/ack", AckAsync).Requires(GatewayAction.Consume, GatewayResourceKind.Topic).WithName("Ack")
            .WithSummary("Acknowledges deliveries by id.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems().ProducesProblem(StatusCodes.Status410Gone);
        topics.MapPost("/{topic}/subscriptions/{subscription}/nack", NackAsync).Requires(GatewayAction.Consume, GatewayResourceKind.Topic).WithName("Nack")
            .WithSummary("Negatively acknowledges deliveries: redelivered after the backoff, dead-lettered after max deliveries.")
            .Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems().ProducesProblem(StatusCodes.Status410Gone);

        queues.MapPost("/{queue}/receive", (string queue, int? max, string? wait, string? encoding, string? consumer, HttpContext context, PullSessions sessions, IOptions<OrleansMQGatewayOptions> options, IGatewayAuthorizer authorizer) =>
                ReceiveAsync(queue, IOrleansMQAdmin.QueueSubscription, max, wait, encoding, consumer, context, sessions, options, authorizer))
            .Requires(GatewayAction.Consume, GatewayResourceKind.Queue).WithName("ReceiveFromQueue").WithSummary("Long-polls a queue for deliveries.").Produces<ReceiveResponse>().ProducesGatewayProblems();
        queues.MapPost("/{queue}/ack", (string queue, AckRequest request, string? consumer, HttpContext context, PullSessions sessions) =>
                AckAsync(queue, IOrleansMQAdmin.QueueSubscription, request, consumer, context, sessions))
            .Requires(GatewayAction.Consume, GatewayResourceKind.Queue).WithName("AckQueue").WithSummary("Acknowledges queue deliveries by id.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();
        queues.MapPost("/{queue}/nack", (string queue, NackRequest request, string? consumer, HttpContext context, PullSessions sessions) =>
                NackAsync(queue, IOrleansMQAdmin.QueueSubscription, request, consumer, context, sessions))
            .Requires(GatewayAction.Consume, GatewayResourceKind.Queue).WithName("NackQueue").WithSummary("Negatively acknowledges queue deliveries by id.").Produces(StatusCodes.Status204NoContent).ProducesGatewayProblems();
    }

    private static async Task<ReceiveResponse> ReceiveAsync(string topic, string subscription, int? max, string? wait, string? encoding, string? consumer,
        HttpContext context, PullSessions sessions, IOptions<OrleansMQGatewayOptions> options, IGatewayAuthorizer authorizer)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        var limits = options.Value;
        var count = max ?? 1;
        if (count < 1 || count > limits.MaxReceiveMessages)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"max {count} must be 1–{limits.MaxReceiveMessages}.");
        }

        var waitFor = ParseWait(wait, limits.MaxReceiveWait);
        var forceBase64 = encoding switch
        {
            null or "auto" => false,
            "base64" => true,
            _ => throw new OrleansMQException(ErrorCode.InvalidArgument, $"encoding '{encoding}' must be auto or base64."),
        };
        var named = ConsumerId(context, consumer);
        var consumerId = named ?? "http-" + Guid.NewGuid().ToString("N");
        context.Response.Headers[ConsumerIdHeader] = consumerId;

        var prefetch = named is null ? count : Math.Max(count, limits.PullPrefetch);
        var session = await sessions.GetOrOpenAsync(topic, subscription, consumerId, prefetch, authorizer.PrincipalName(context.User), context.RequestAborted);
        var deliveries = await session.ReceiveAsync(count, waitFor, context.RequestAborted);
        return new ReceiveResponse(consumerId, [.. deliveries.Select(d => new DeliveryResponse
        {
            DeliveryId = DeliveryId.Of(d).ToString(),
            Topic = d.Topic,
            Partition = d.Partition,
            Offset = d.Offset,
            DeliveryCount = d.DeliveryCount,
            Redelivered = d.Redelivered,
            Message = MessageResponse.From(d.Message, forceBase64),
        })]);
    }

    private static Task<IResult> AckAsync(string topic, string subscription, AckRequest request, string? consumer, HttpContext context, PullSessions sessions) =>
        SettleAsync(topic, subscription, request.Ids, ack: true, reason: null, consumer, context, sessions);

    private static Task<IResult> NackAsync(string topic, string subscription, NackRequest request, string? consumer, HttpContext context, PullSessions sessions) =>
        SettleAsync(topic, subscription, request.Ids, ack: false, request.Reason, consumer, context, sessions);

    /// <summary>Settles every id; answers 204, or the problem of the first failure with all failures listed (the others took effect).</summary>
    private static async Task<IResult> SettleAsync(string topic, string subscription, IReadOnlyList<string>? ids, bool ack, string? reason, string? consumer,
        HttpContext context, PullSessions sessions)
    {
        Names.Validate(topic, "topic");
        Names.Validate(subscription, "subscription");
        if (ids is not { Count: > 0 } || ids.Count > 10_000)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, "ids must list 1–10000 delivery ids.");
        }

        var consumerId = ConsumerId(context, consumer)
            ?? throw new OrleansMQException(ErrorCode.InvalidArgument, $"Name the consumer that received the deliveries (header {ConsumerIdHeader} or query consumer).");
        var failures = await sessions.SettleAsync(topic, subscription, consumerId, ids, ack, reason);
        if (failures.Count == 0)
        {
            return TypedResults.NoContent();
        }

        var first = failures[0].Error;
        return GatewayProblems.For(first, context, new Dictionary<string, object?>
        {
            ["failures"] = failures.Select(f => new { id = f.Id, code = f.Error.Code.ToString(), detail = f.Error.Message }).ToList(),
            ["settled"] = ids.Count - failures.Count,
        });
    }

    internal static string? ConsumerId(HttpContext context, string? query)
    {
        var id = context.Request.Headers[ConsumerIdHeader].FirstOrDefault() ?? query;
        return id is null ? null
            : id.Length is >= 1 and <= 200 ? id
            : throw new OrleansMQException(ErrorCode.InvalidArgument, "A consumer id is 1–200 characters.");
    }

    /// <summary>"5" or "5s" = seconds, "500ms" = milliseconds; clamped to the configured maximum.</summary>
    internal static TimeSpan ParseWait(string? text, TimeSpan max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return TimeSpan.Zero;
        }

        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : (text, 1000.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"wait '{(text.Length > 40 ? text[..40] : text)}' must be a duration like 5, 5s or 500ms.");
        }

        var wait = TimeSpan.FromMilliseconds(Math.Min(value * scale, max.TotalMilliseconds));
        return wait;
    }
}
