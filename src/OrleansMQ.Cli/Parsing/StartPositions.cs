using System.Globalization;

namespace OrleansMQ.Cli.Parsing;

/// <summary>
/// Subscription positions: <c>earliest</c>, <c>latest</c>, <c>offset:N</c>, <c>time:ISO-8601</c> (UTC unless the time
/// has an offset) and <c>ago:DURATION</c> (<c>ago:1h</c> = the first message of the last hour).
/// </summary>
internal static class StartPositions
{
    /// <summary>Parses a position; <paramref name="now"/> anchors <c>ago:</c>. Throws <see cref="FormatException"/>.</summary>
    public static StartPosition Parse(string text, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        if (s.Equals("earliest", StringComparison.OrdinalIgnoreCase))
        {
            return StartPosition.Earliest;
        }

        if (s.Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            return StartPosition.Latest;
        }

        var colon = s.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? s : s[..colon];
        var value = colon < 0 ? "" : s[(colon + 1)..];
        switch (kind.ToLowerInvariant())
        {
            case "offset" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var offset):
                return StartPosition.AtOffset(offset);
            case "time" when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time):
                return StartPosition.AtTimestamp(time);
            case "ago":
                return StartPosition.AtTimestamp(now - Durations.Parse(value));
            default:
                throw new FormatException(
                    $"'{text}' is not a position; use earliest, latest, offset:N, time:2025-01-31T12:00:00Z or ago:1h.");
        }
    }

    /// <summary>Writes a position in the notation <see cref="Parse"/> reads.</summary>
    public static string Format(StartPosition position) => position.Kind switch
    {
        StartKind.Earliest => "earliest",
        StartKind.Latest => "latest",
        StartKind.Offset => string.Create(CultureInfo.InvariantCulture, $"offset:{position.Offset}"),
        StartKind.Timestamp => "time:" + position.Timestamp.ToString("O", CultureInfo.InvariantCulture),
        _ => position.Kind.ToString(),
    };
}
