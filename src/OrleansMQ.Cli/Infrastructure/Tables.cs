using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>Spectre.Console tables whose cells are plain text (names and bodies are never read as markup).</summary>
internal static class Tables
{
    /// <summary>A table with these column headers; columns whose header starts with '#' are right-aligned numbers.</summary>
    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers)
        {
            var numeric = header.StartsWith('#');
            var column = new TableColumn(new Text(numeric ? header[1..] : header, new Style(decoration: Decoration.Bold)));
            table.AddColumn(numeric ? column.RightAligned() : column);
        }

        return table;
    }

    /// <summary>Adds a row; nulls show as "-", numbers in invariant culture.</summary>
    public static Table Row(this Table table, params object?[] cells)
    {
        table.AddRow(cells.Select(Cell));
        return table;
    }

    /// <summary>A two-column "name: value" block for describe commands.</summary>
    public static Grid Properties(IEnumerable<(string Name, object? Value)> properties)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        foreach (var (name, value) in properties)
        {
            grid.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), Cell(value));
        }

        return grid;
    }

    /// <summary>A section heading (bold text: a rule would stretch across the whole width of a file or pipe).</summary>
    public static Text Heading(string title) => new(title + Environment.NewLine, new Style(decoration: Decoration.Bold | Decoration.Underline));

    private static IRenderable Cell(object? value) => new Text(value switch
    {
        null => "-",
        bool b => b ? "yes" : "no",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "-",
    });
}
