namespace OrleansMQ.Gateway.Stomp;

/// <summary>What a STOMP destination names.</summary>
internal enum StompDestinationKind
{
    /// <summary><c>/topic/{name}</c>: publish to the topic; subscribe with a durable or temporary subscription.</summary>
    Topic,

    /// <summary><c>/queue/{name}</c>: publish to the queue; subscribe as a competing consumer of its Shared subscription.</summary>
    Queue,

    /// <summary><c>/exchange/{name}/{routing key}</c>: publish through the exchange.</summary>
    Exchange,
}

/// <summary>A parsed destination header.</summary>
internal sealed record StompDestination(StompDestinationKind Kind, string Name, string RoutingKey, string Text)
{
    /// <summary>
    /// Parses <c>/topic/x</c>, <c>/queue/x</c> or <c>/exchange/x/routing.key</c> (the routing key is everything after the
    /// exchange name and may be empty or contain '/'). Throws <see cref="OrleansMQException"/> (InvalidName/InvalidArgument).
    /// </summary>
    public static StompDestination Parse(string text)
    {
        if (text.StartsWith("/topic/", StringComparison.Ordinal))
        {
            return new(StompDestinationKind.Topic, Names.Validate(text["/topic/".Length..], "topic"), "", text);
        }

        if (text.StartsWith("/queue/", StringComparison.Ordinal))
        {
            return new(StompDestinationKind.Queue, Names.Validate(text["/queue/".Length..], "queue"), "", text);
        }

        if (text.StartsWith("/exchange/", StringComparison.Ordinal))
        {
            var rest = text["/exchange/".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var name = slash < 0 ? rest : rest[..slash];
            var key = slash < 0 ? "" : rest[(slash + 1)..];
            return new(StompDestinationKind.Exchange, Names.Validate(name, "exchange"), key, text);
        }

        throw new OrleansMQException(ErrorCode.InvalidArgument,
            $"Unknown destination '{(text.Length > 80 ? text[..80] + "…" : text)}': use /topic/{{name}}, /queue/{{name}} or /exchange/{{name}}/{{routing key}}.");
    }
}
