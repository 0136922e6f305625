namespace OrleansMQ;

/// <summary>
/// One named step of a transform pipeline on a binding (applied as a message is routed) or a subscription (applied as
/// it is delivered). Build steps with the factory methods. A step that fails or times out sends the message to the
/// dead-letter topic with the step's name and the reason; a message is never half-transformed.
/// </summary>
[GenerateSerializer, Immutable, Alias("omq.transform")]
public sealed record TransformStep
{
    /// <summary>The step kind: set-header, remove-header, rename-header, json-project, cloudevents-wrap, cloudevents-unwrap, content-type, or custom.</summary>
    [Id(0)] public required string Type { get; init; }

    /// <summary>The parameters of the step.</summary>
    [Id(1)] public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>A name for errors and dead-letter reasons (defaults to the type and position).</summary>
    [Id(2)] public string? Name { get; init; }

    /// <summary>Sets header <paramref name="header"/> to <paramref name="value"/>.</summary>
    public static TransformStep SetHeader(string header, string value) => Make("set-header", ("header", header), ("value", value));

    /// <summary>Removes header <paramref name="header"/>.</summary>
    public static TransformStep RemoveHeader(string header) => Make("remove-header", ("header", header));

    /// <summary>Renames header <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static TransformStep RenameHeader(string from, string to) => Make("rename-header", ("from", from), ("to", to));

    /// <summary>
    /// Replaces a JSON body with a new object built from paths of the old one: <c>"id, customer.name as customer, total"</c>
    /// (a missing path becomes null). The body must be a JSON object.
    /// </summary>
    public static TransformStep JsonProject(string fields) => Make("json-project", ("fields", fields));

    /// <summary>Wraps the message in a CloudEvents 1.0 JSON envelope (structured mode) with the given source and type.</summary>
    public static TransformStep CloudEventsWrap(string source, string type) => Make("cloudevents-wrap", ("source", source), ("type", type));

    /// <summary>Unwraps a CloudEvents 1.0 JSON envelope: the data becomes the body and the attributes become <c>ce-*</c> headers.</summary>
    public static TransformStep CloudEventsUnwrap() => Make("cloudevents-unwrap");

    /// <summary>Sets the content type (converting between text and JSON: <c>text/plain</c> → <c>application/json</c> wraps the text as a JSON string, and back).</summary>
    public static TransformStep ContentType(string contentType) => Make("content-type", ("content-type", contentType));

    /// <summary>Runs the user <c>IMessageTransform</c> registered in the silo's DI under <paramref name="name"/>.</summary>
    public static TransformStep Custom(string name) => Make("custom", ("name", name));

    /// <summary>Equality on content (parameters by their entries), so definitions compare equal after a round trip.</summary>
    public bool Equals(TransformStep? other) =>
        other is not null && Type == other.Type && Name == other.Name && Parameters.Count == other.Parameters.Count
        && Parameters.All(p => other.Parameters.TryGetValue(p.Key, out var v) && v == p.Value);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, Name, Parameters.Count);

    private static TransformStep Make(string type, params (string Key, string Value)[] parameters) =>
        new() { Type = type, Parameters = parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal) };
}

/// <summary>A user transform: register implementations in the silo with <c>services.AddKeyedSingleton&lt;IMessageTransform, T&gt;("name")</c>.</summary>
public interface IMessageTransform
{
    /// <summary>Returns the transformed message. Throw to reject it (it goes to the dead-letter topic with the exception message).</summary>
    ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken);
}

/// <summary>Thrown when a transform step fails; carries the step name.</summary>
[GenerateSerializer, Alias("omq.transform-error")]
public sealed class TransformException : Exception
{
    /// <summary>Creates the error.</summary>
    public TransformException(string step, string message, Exception? inner = null) : base($"transform '{step}' failed: {message}", inner) => Step = step;

    /// <summary>The failing step's name.</summary>
    [Id(0)] public string Step { get; private set; }
}
