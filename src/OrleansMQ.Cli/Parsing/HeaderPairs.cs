namespace OrleansMQ.Cli.Parsing;

/// <summary>Headers given as repeated <c>name=value</c> options (the value may contain '=' and be empty).</summary>
internal static class HeaderPairs
{
    /// <summary>Parses the pairs into a dictionary. Throws <see cref="FormatException"/> for a missing '=' or a repeated name.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"'{pair}' is not a header; use name=value.");
            }

            if (!headers.TryAdd(pair[..equals], pair[(equals + 1)..]))
            {
                throw new FormatException($"Header '{pair[..equals]}' is given more than once.");
            }
        }

        return headers;
    }
}
