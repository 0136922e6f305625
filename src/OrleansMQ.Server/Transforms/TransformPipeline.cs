using System.Globalization;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansMQ.Server.Transforms;

/// <summary>
/// Runs transform steps in order on a copy of a message. Any failure (or a step exceeding <see cref="StepTimeout"/>)
/// becomes a <see cref="TransformException"/> naming the step; the caller dead-letters the original message.
/// </summary>
public sealed class TransformPipeline(IServiceProvider services)
{
    /// <summary>The longest one step may take.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(5);

    private static readonly JsonEventFormatter Formatter = new();

    /// <summary>Checks that steps are well formed (known type, required parameters, custom transforms registered).</summary>
    public void Validate(IReadOnlyList<TransformStep>? steps, string owner)
    {
        if (steps is null)
        {
            return;
        }

        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            string Need(string p) => step.Parameters.TryGetValue(p, out var v) && v.Length > 0
                ? v
                : throw new OrleansMQException(ErrorCode.InvalidArgument, $"{owner}: transform {NameOf(step, i)} needs parameter '{p}'.");
            switch (step.Type)
            {
                case "set-header": Need("header"); Need("value"); break;
                case "remove-header": Need("header"); break;
                case "rename-header": Need("from"); Need("to"); break;
                case "json-project": ParseFields(Need("fields")); break;
                case "cloudevents-wrap": Need("source"); Need("type"); break;
                case "cloudevents-unwrap": break;
                case "content-type": Need("content-type"); break;
                case "custom":
                    var name = Need("name");
                    if (services.GetKeyedService<IMessageTransform>(name) is null)
                    {
                        throw new OrleansMQException(ErrorCode.InvalidArgument, $"{owner}: no IMessageTransform is registered as '{name}' in the silo.");
                    }

                    break;
                default:
                    throw new OrleansMQException(ErrorCode.InvalidArgument, $"{owner}: unknown transform type '{step.Type}'.");
            }
        }
    }

    /// <summary>
    /// Applies the steps. Throws <see cref="TransformException"/> on failure. Built-in steps are bounded CPU work and run
    /// inline; a user transform gets a token cancelled after <see cref="StepTimeout"/>, and the pipeline stops waiting
    /// for it then. The pipeline runs for every routed copy, so it allocates no timer unless a user transform is called,
    /// and completes synchronously when every step does.
    /// </summary>
    public async ValueTask<Message> ApplyAsync(Message message, IReadOnlyList<TransformStep>? steps, CancellationToken cancellationToken = default)
    {
        if (steps is not { Count: > 0 })
        {
            return message;
        }

        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            try
            {
                message = step.Type == "custom"
                    ? await ApplyCustomAsync(message, step.Parameters["name"], cancellationToken)
                    : ApplyBuiltIn(message, step);
            }
            catch (Exception ex) when (ex is not TransformException && !cancellationToken.IsCancellationRequested)
            {
                var reason = ex is TimeoutException or OperationCanceledException ? $"timed out after {StepTimeout}" : $"{ex.GetType().Name}: {ex.Message}";
                throw new TransformException(NameOf(step, i), reason, ex);
            }
        }

        return message;
    }

    private static string NameOf(TransformStep step, int index) => step.Name ?? $"{step.Type}#{index + 1}";

    private async ValueTask<Message> ApplyCustomAsync(Message message, string name, CancellationToken cancellationToken)
    {
        var transform = services.GetRequiredKeyedService<IMessageTransform>(name);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StepTimeout);
        var pending = transform.TransformAsync(message, timeout.Token);
        return pending.IsCompletedSuccessfully
            ? pending.Result
            : await pending.AsTask().WaitAsync(StepTimeout, cancellationToken);
    }

    private static Message ApplyBuiltIn(Message message, TransformStep step)
    {
        var p = step.Parameters;
        switch (step.Type)
        {
            case "set-header":
                return message.WithHeader(p["header"], p["value"]);
            case "remove-header":
                return message with { Headers = message.Headers?.Where(h => h.Key != p["header"]).ToDictionary(StringComparer.Ordinal) };
            case "rename-header":
                if (message.Headers is null || !message.Headers.TryGetValue(p["from"], out var value))
                {
                    return message;
                }

                var renamed = message.Headers.Where(h => h.Key != p["from"]).ToDictionary(StringComparer.Ordinal);
                renamed[p["to"]] = value;
                return message with { Headers = renamed };
            case "json-project":
                return Project(message, ParseFields(p["fields"]));
            case "cloudevents-wrap":
                return Wrap(message, p["source"], p["type"]);
            case "cloudevents-unwrap":
                return Unwrap(message);
            case "content-type":
                return ConvertContentType(message, p["content-type"]);
            default:
                throw new InvalidOperationException($"unknown transform type '{step.Type}'");
        }
    }

    private static (string[] Path, string As)[] ParseFields(string fields) =>
        [.. fields.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f =>
        {
            var parts = f.Split(" as ", StringSplitOptions.TrimEntries);
            var path = parts[0].Split('.');
            if (parts.Length > 2 || path.Any(string.IsNullOrEmpty))
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument, $"JSON projection field '{f}' must be 'a.b' or 'a.b as name'.");
            }

            return (path, parts.Length == 2 ? parts[1] : path[^1]);
        })];

    private static Message Project(Message message, (string[] Path, string As)[] fields)
    {
        var source = JsonNode.Parse(message.Body.Span) as JsonObject ?? throw new InvalidOperationException("the body is not a JSON object");
        var result = new JsonObject();
        foreach (var (path, name) in fields)
        {
            JsonNode? node = source;
            foreach (var segment in path)
            {
                node = node is JsonObject o && o.TryGetPropertyValue(segment, out var child) ? child : null;
            }

            result[name] = node?.DeepClone();
        }

        return message with { Body = Encoding.UTF8.GetBytes(result.ToJsonString()), ContentType = MediaTypeNames.Application.Json };
    }

    private static Message Wrap(Message message, string source, string type)
    {
        var evt = new CloudEvent
        {
            Id = message.MessageId ?? Guid.NewGuid().ToString("N"),
            Source = new Uri(source, UriKind.RelativeOrAbsolute),
            Type = type,
            Time = message.Timestamp ?? DateTimeOffset.UtcNow,
            DataContentType = message.ContentType ?? MediaTypeNames.Application.Octet,
            Subject = message.Key,
        };
        // The parsed JSON is only read while encoding below, so it needs no clone (a copy of the body per message).
        using var json = IsJson(message.ContentType) ? JsonDocument.Parse(message.Body) : null;
        evt.Data = json is not null ? json.RootElement
            : IsText(message.ContentType) ? Encoding.UTF8.GetString(message.Body.Span)
            : message.Body.ToArray();
        var encoded = Formatter.EncodeStructuredModeMessage(evt, out var contentType);
        return message with { Body = encoded, ContentType = contentType.ToString() };
    }

    private static Message Unwrap(Message message)
    {
        var evt = Formatter.DecodeStructuredModeMessage(message.Body, new ContentType(message.ContentType ?? "application/cloudevents+json"), extensionAttributes: null);
        var headers = message.Headers is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(message.Headers, StringComparer.Ordinal);
        foreach (var (attribute, value) in evt.GetPopulatedAttributes())
        {
            if (attribute.Name != "data")
            {
                headers[$"ce-{attribute.Name}"] = attribute.Format(value);
            }
        }

        byte[] body = evt.Data switch
        {
            null => [],
            byte[] bytes => bytes,
            string text => Encoding.UTF8.GetBytes(text),
            JsonElement json => Encoding.UTF8.GetBytes(json.GetRawText()),
            var other => Encoding.UTF8.GetBytes(Convert.ToString(other, CultureInfo.InvariantCulture) ?? ""),
        };
        return message with { Body = body, ContentType = evt.DataContentType, Headers = headers };
    }

    private static Message ConvertContentType(Message message, string target)
    {
        if (IsText(message.ContentType) && IsJson(target))
        {
            return message with { Body = JsonSerializer.SerializeToUtf8Bytes(Encoding.UTF8.GetString(message.Body.Span)), ContentType = target };
        }

        if (IsJson(message.ContentType) && IsText(target))
        {
            var node = JsonNode.Parse(message.Body.Span);
            var text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "";
            return message with { Body = Encoding.UTF8.GetBytes(text), ContentType = target };
        }

        return message with { ContentType = target };
    }

    private static bool IsJson(string? contentType) => contentType is not null && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase));

    private static bool IsText(string? contentType) => contentType is not null && contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
}
