using System.Globalization;

namespace OrleansMQ.Cli.Parsing;

/// <summary>
/// Byte sizes: a plain number of bytes, or a number with a unit: <c>KB</c>/<c>MB</c>/<c>GB</c>/<c>TB</c> (powers of 1000)
/// or <c>KiB</c>/<c>MiB</c>/<c>GiB</c>/<c>TiB</c> (powers of 1024), case-insensitive.
/// </summary>
internal static class ByteSizes
{
    private static readonly (string Unit, long Factor)[] Units =
    [
        ("kib", 1L << 10), ("mib", 1L << 20), ("gib", 1L << 30), ("tib", 1L << 40),
        ("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
        ("b", 1),
    ];

    /// <summary>Parses a size in bytes. Throws <see cref="FormatException"/> naming the accepted forms.</summary>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim().ToLowerInvariant();
        var factor = 1L;
        foreach (var (unit, unitFactor) in Units)
        {
            if (s.EndsWith(unit, StringComparison.Ordinal))
            {
                s = s[..^unit.Length].TrimEnd();
                factor = unitFactor;
                break;
            }
        }

        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            throw new FormatException($"'{text}' is not a size; use bytes (1048576) or a unit: 512KiB, 10MiB, 1GiB, 1GB.");
        }

        var bytes = value * factor;
        return bytes > long.MaxValue || bytes != decimal.Truncate(bytes)
            ? throw new FormatException($"'{text}' is not a whole number of bytes that fits in 64 bits.")
            : (long)bytes;
    }

    /// <summary>A size for people: <c>512 B</c>, <c>1.5 KiB</c>, <c>64 MiB</c>.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }
}
