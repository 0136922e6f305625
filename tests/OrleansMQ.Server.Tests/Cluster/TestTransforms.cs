using System.Text;

namespace OrleansMQ.Tests.Cluster;

/// <summary>A user transform registered in the silo's DI as "upper".</summary>
public sealed class UpperCaseTransform : IMessageTransform
{
    public ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken) =>
        ValueTask.FromResult(message with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(message.Body.Span).ToUpperInvariant()) });
}

/// <summary>A user transform registered as "explode": rejects bodies containing "bad".</summary>
public sealed class RejectingTransform : IMessageTransform
{
    public ValueTask<Message> TransformAsync(Message message, CancellationToken cancellationToken) =>
        Encoding.UTF8.GetString(message.Body.Span).Contains("bad", StringComparison.Ordinal)
            ? throw new FormatException("body contains 'bad'")
            : ValueTask.FromResult(message);
}
