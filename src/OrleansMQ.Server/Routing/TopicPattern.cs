namespace OrleansMQ.Server.Routing;

/// <summary>
/// RabbitMQ topic-exchange matching: keys and patterns are dot-separated words (a word may be empty: "a..b" has three);
/// <c>*</c> matches exactly one word and <c>#</c> matches zero or more words.
/// </summary>
public static class TopicPattern
{
    /// <summary>True when <paramref name="routingKey"/> matches <paramref name="pattern"/>.</summary>
    public static bool IsMatch(string pattern, string routingKey)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(routingKey);
        return IsMatch(Words(pattern), Words(routingKey));
    }

    /// <summary>Splits into words. As in RabbitMQ, the empty key has no words, while "a..b" has three (one empty).</summary>
    public static string[] Words(string key) => key.Length == 0 ? [] : key.Split('.');

    /// <summary>Matches pre-split words (a routing table splits each pattern once).</summary>
    public static bool IsMatch(string[] pattern, string[] words)
    {
        // reachable[j]: the first i pattern words can match the first j key words. O(pattern × words), no backtracking blow-up.
        var reachable = new bool[words.Length + 1];
        var next = new bool[words.Length + 1];
        reachable[0] = true;
        foreach (var p in pattern)
        {
            Array.Clear(next);
            if (p == "#")
            {
                var any = false;
                for (var j = 0; j <= words.Length; j++)
                {
                    any |= reachable[j];
                    next[j] = any;
                }
            }
            else
            {
                for (var j = 0; j < words.Length; j++)
                {
                    if (reachable[j] && (p == "*" || p == words[j]))
                    {
                        next[j + 1] = true;
                    }
                }
            }

            (reachable, next) = (next, reachable);
        }

        return reachable[words.Length];
    }
}
