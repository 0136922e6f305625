using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace OrleansMQ.Management.Actions;

/// <summary>
/// The page's form posts (create topic/queue, publish a test message, re-drive, purge), all in one route group under
/// <c>/ui/actions</c>. Each validates the antiforgery token of the form, calls <see cref="ManagementActions"/>, and
/// redirects back to the page with <c>?message=</c> or <c>?error=</c> (post/redirect/get).
/// </summary>
internal static class ManagementActionEndpoints
{
    public const string Prefix = "/ui/actions";

    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var actions = endpoints.MapGroup(Prefix).ExcludeFromDescription();
        actions.MapPost("/topics", ([FromForm] string name, [FromForm] int? partitions, [FromForm] string? kind, ManagementActions a, CancellationToken ct) =>
            RunAsync(TopicPage(name), async () =>
            {
                var queue = string.Equals(kind, "queue", StringComparison.OrdinalIgnoreCase);
                var info = queue
                    ? await a.CreateQueueAsync(name, partitions ?? 1, ct)
                    : await a.CreateTopicAsync(name, partitions ?? 1, ct);
                return $"Created {(queue ? "queue" : "topic")} {info.Name} with {info.Spec.Partitions} partition(s).";
            }, fallback: "/ui"));
        actions.MapPost("/topics/{topic}/publish", (string topic, [FromForm] string? text, [FromForm] string? key, ManagementActions a, CancellationToken ct) =>
            RunAsync(TopicPage(topic), async () =>
            {
                var receipt = await a.PublishAsync(topic, text ?? "", key, ct);
                return $"Published to partition {receipt.Partition} at offset {receipt.Offset}.";
            }));
        actions.MapPost("/topics/{topic}/subscriptions/{subscription}/redrive", (string topic, string subscription, ManagementActions a, CancellationToken ct) =>
            RunAsync(TopicPage(topic), async () => $"Re-drove {await a.RedriveAsync(topic, subscription, ct)} message(s) of {subscription}."));
        actions.MapPost("/topics/{topic}/subscriptions/{subscription}/purge", (string topic, string subscription, ManagementActions a, CancellationToken ct) =>
            RunAsync(TopicPage(topic), async () => $"Purged {await a.PurgeDeadLettersAsync(topic, subscription, ct)} dead letter(s) of {subscription}."));
        return actions;
    }

    private static string TopicPage(string topic) => "/ui/topics/" + Uri.EscapeDataString(topic);

    private static async Task<IResult> RunAsync(string page, Func<Task<string>> action, string? fallback = null)
    {
        try
        {
            var message = await action();
            return Results.Redirect($"{page}?message={Uri.EscapeDataString(message)}");
        }
        catch (OrleansMQException ex)
        {
            return Results.Redirect($"{fallback ?? page}?error={Uri.EscapeDataString($"{ex.Code}: {ex.Message}")}");
        }
    }
}
