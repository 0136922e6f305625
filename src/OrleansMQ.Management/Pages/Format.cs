using System.Globalization;

namespace OrleansMQ.Management.Pages;

/// <summary>How the pages print numbers, sizes and durations.</summary>
public static class Format
{
    /// <summary>A count with thousands separators.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A byte size in B, KiB, MiB, GiB.</summary>
    public static string Bytes(long? bytes)
    {
        if (bytes is not { } b)
        {
            return "-";
        }

        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var value = (double)b;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{b} B" : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A topic's retention rule in words.</summary>
    public static string Retention(RetentionPolicy retention)
    {
        ArgumentNullException.ThrowIfNull(retention);
        var parts = new List<string>();
        if (retention.UntilAcknowledged)
        {
            parts.Add("until acknowledged");
        }

        if (retention.MaxAge is { } age)
        {
            parts.Add("max age " + (age.TotalDays >= 1 && age.TotalDays % 1 == 0 ? $"{age.TotalDays:0}d" : age.ToString("c", CultureInfo.InvariantCulture)));
        }

        if (retention.MaxBytes is { } bytes)
        {
            parts.Add("max " + Bytes(bytes));
        }

        return parts.Count == 0 ? "forever" : string.Join(", ", parts);
    }

    /// <summary>The first <paramref name="max"/> characters of a message body as UTF-8 text.</summary>
    public static string Body(ReadOnlyMemory<byte> body, int max = 200)
    {
        var text = System.Text.Encoding.UTF8.GetString(body.Span[..Math.Min(body.Length, max * 4)]);
        return text.Length > max ? text[..max] + "…" : text;
    }
}
