using System.Globalization;
using System.Text;

namespace OrleansMQ.Cli.Parsing;

/// <summary>
/// Durations as people type them: <c>500ms</c>, <c>10s</c>, <c>5m</c>, <c>2h</c>, <c>7d</c>, combinations such as
/// <c>1h30m</c>, decimals (<c>1.5s</c>), or a .NET time span (<c>00:00:30</c>). <see cref="Format"/> writes the same
/// notation back, so what omq prints can be pasted into its options.
/// </summary>
internal static class Durations
{
    /// <summary>Parses a duration. Throws <see cref="FormatException"/> naming the accepted forms.</summary>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        if (s.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var span)
                ? span
                : throw Invalid(text);
        }

        if (s.Length == 0)
        {
            throw Invalid(text);
        }

        var total = 0d;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                throw Invalid(text);
            }

            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]))
            {
                i++;
            }

            total += s[unitStart..i].ToLowerInvariant() switch
            {
                "ms" => value,
                "s" => value * 1_000,
                "m" => value * 60_000,
                "h" => value * 3_600_000,
                "d" => value * 86_400_000,
                // A bare number is seconds, the unit people mean most often on a command line.
                "" when unitStart == s.Length && start == 0 => value * 1_000,
                _ => throw Invalid(text),
            };
        }

        return total > TimeSpan.MaxValue.TotalMilliseconds ? throw Invalid(text) : TimeSpan.FromMilliseconds(total);
    }

    /// <summary>Writes a duration in the notation <see cref="Parse"/> reads (<c>7d</c>, <c>1h30m</c>, <c>250ms</c>, <c>0s</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            text.Append('-');
            value = value.Duration();
        }

        Append(text, value.Days, "d");
        Append(text, value.Hours, "h");
        Append(text, value.Minutes, "m");
        Append(text, value.Seconds, "s");
        Append(text, value.Milliseconds, "ms");
        return text.ToString();
    }

    private static void Append(StringBuilder text, int amount, string unit)
    {
        if (amount != 0)
        {
            text.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(unit);
        }
    }

    private static FormatException Invalid(string text) =>
        new($"'{text}' is not a duration; use e.g. 500ms, 10s, 5m, 2h, 7d, 1h30m or 00:00:30.");
}
