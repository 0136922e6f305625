namespace OrleansMQ.Cli.Parsing;

/// <summary>
/// The lower-case words the CLI uses for enum values, both in options (<c>--type keyshared</c>) and in its output, so
/// what omq prints can be typed back.
/// </summary>
internal static class Words
{
    public static readonly string[] SubscriptionTypes = ["exclusive", "failover", "shared", "keyshared"];

    public static readonly string[] ExchangeTypes = ["direct", "topic", "headers", "fanout"];

    public static readonly string[] HeaderMatches = ["all", "any"];

    public static string Of(SubscriptionType type) => type.ToString().ToLowerInvariant();

    public static string Of(ExchangeType type) => type.ToString().ToLowerInvariant();

    public static string Of(HeadersMatch match) => match.ToString().ToLowerInvariant();

    public static SubscriptionType SubscriptionType(string word) => Enum.Parse<SubscriptionType>(word, ignoreCase: true);

    public static ExchangeType ExchangeType(string word) => Enum.Parse<ExchangeType>(word, ignoreCase: true);

    public static HeadersMatch HeadersMatch(string word) => Enum.Parse<HeadersMatch>(word, ignoreCase: true);
}
