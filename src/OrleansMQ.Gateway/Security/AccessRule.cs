namespace OrleansMQ.Gateway.Security;

/// <summary>
/// One access rule, written <c>actions:kind:pattern</c>: <c>actions</c> is <c>produce</c>, <c>consume</c>,
/// <c>admin</c> or a comma-separated list of them, or <c>*</c>; <c>kind</c> is <c>topic</c>, <c>queue</c>,
/// <c>exchange</c> or <c>*</c>; <c>pattern</c> is a glob on the name (<c>*</c> any run of characters, <c>?</c> one
/// character; names cannot contain either). Examples: <c>produce:topic:orders.*</c>, <c>consume:queue:jobs</c>,
/// <c>*:*:*</c>. Rules only grant; a request is allowed when any rule of the principal matches it.
/// </summary>
public sealed record AccessRule(IReadOnlySet<GatewayAction> Actions, IReadOnlySet<GatewayResourceKind> Kinds, string Pattern)
{
    /// <summary>Whether the rule grants <paramref name="action"/> on <paramref name="name"/> of kind <paramref name="kind"/>.</summary>
    public bool Allows(GatewayAction action, GatewayResourceKind kind, string name) =>
        Actions.Contains(action) && Kinds.Contains(kind) && Glob.IsMatch(Pattern, name);

    /// <summary>Parses <c>actions:kind:pattern</c>; throws <see cref="FormatException"/> naming the rule and the part that is wrong.</summary>
    public static AccessRule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length != 3 || parts[2].Length == 0)
        {
            throw new FormatException($"Access rule '{text}' must be actions:kind:pattern, e.g. produce,consume:topic:orders.*");
        }

        var actions = new HashSet<GatewayAction>();
        foreach (var action in parts[0].Split(',', StringSplitOptions.TrimEntries))
        {
            switch (action.ToLowerInvariant())
            {
                case "*":
                    actions.UnionWith(Enum.GetValues<GatewayAction>());
                    break;
                case "produce":
                    actions.Add(GatewayAction.Produce);
                    break;
                case "consume":
                    actions.Add(GatewayAction.Consume);
                    break;
                case "admin":
                    actions.Add(GatewayAction.Admin);
                    break;
                default:
                    throw new FormatException($"Access rule '{text}': action '{action}' must be produce, consume, admin or *.");
            }
        }

        var kinds = new HashSet<GatewayResourceKind>();
        foreach (var kind in parts[1].Split(',', StringSplitOptions.TrimEntries))
        {
            switch (kind.ToLowerInvariant())
            {
                case "*":
                    kinds.UnionWith(Enum.GetValues<GatewayResourceKind>());
                    break;
                case "topic":
                    kinds.Add(GatewayResourceKind.Topic);
                    break;
                case "queue":
                    kinds.Add(GatewayResourceKind.Queue);
                    break;
                case "exchange":
                    kinds.Add(GatewayResourceKind.Exchange);
                    break;
                default:
                    throw new FormatException($"Access rule '{text}': kind '{kind}' must be topic, queue, exchange or *.");
            }
        }

        return new AccessRule(actions, kinds, parts[2].Trim());
    }

    /// <summary>Parses several rules; throws <see cref="FormatException"/> at the first bad one.</summary>
    public static IReadOnlyList<AccessRule> ParseAll(IEnumerable<string> texts) => [.. texts.Select(Parse)];
}
