using System.Globalization;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>A two-column Markdown table (so results paste into docs unchanged).</summary>
internal sealed class ResultTable(string title, string keyHeader = "metric", string valueHeader = "value")
{
    private readonly List<(string Key, string Value)> _rows = [];

    public ResultTable Add(string key, string value)
    {
        _rows.Add((key, value));
        return this;
    }

    public ResultTable Add(string key, double value, string format, string unit = "") =>
        Add(key, value.ToString(format, CultureInfo.InvariantCulture) + (unit.Length > 0 ? " " + unit : ""));

    public void Print(TextWriter writer)
    {
        var keyWidth = Math.Max(keyHeader.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r.Key.Length));
        var valueWidth = Math.Max(valueHeader.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r.Value.Length));
        writer.WriteLine();
        writer.WriteLine($"### {title}");
        writer.WriteLine();
        writer.WriteLine($"| {keyHeader.PadRight(keyWidth)} | {valueHeader.PadRight(valueWidth)} |");
        writer.WriteLine($"|{new string('-', keyWidth + 2)}|{new string('-', valueWidth + 2)}|");
        foreach (var (key, value) in _rows)
        {
            writer.WriteLine($"| {key.PadRight(keyWidth)} | {value.PadRight(valueWidth)} |");
        }
    }

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Rate(double perSecond) => perSecond.ToString("N0", CultureInfo.InvariantCulture) + "/s";
}
