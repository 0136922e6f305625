using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// Where a command's results go. Results go to stdout: tables for people, or JSON for scripts. Notes and errors go to
/// stderr in both modes, so stdout stays parseable.
/// </summary>
internal sealed class CliOutput(bool json)
{
    private readonly TextWriter _stdout = System.Console.Out;
    private readonly TextWriter _stderr = System.Console.Error;

    /// <summary>True for <c>--output json</c>.</summary>
    public bool Json { get; } = json;

    /// <summary>The console for tables and styled text (stdout).</summary>
    public IAnsiConsole Console { get; } = CreateConsole();

    /// <summary>Writes one JSON document (indented).</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> type) => _stdout.WriteLine(JsonSerializer.Serialize(value, type));

    /// <summary>Writes one JSON line (for streams: messages, receipts); flushed at once so a pipe sees it.</summary>
    public void WriteJsonLine<T>(T value, JsonTypeInfo<T> type)
    {
        _stdout.WriteLine(JsonSerializer.Serialize(value, type));
        _stdout.Flush();
    }

    /// <summary>Renders a table or other renderable to stdout.</summary>
    public void Write(IRenderable renderable) => Console.Write(renderable);

    /// <summary>A line of plain text to stdout (not interpreted as markup).</summary>
    public void WriteLine(string text) => Console.Write(new Text(text + Environment.NewLine));

    /// <summary>A progress or status note for people, on stderr (never mixed into stdout).</summary>
    public void Note(string text)
    {
        _stderr.WriteLine(text);
        _stderr.Flush();
    }

    /// <summary>An error line on stderr: <c>error: …</c>.</summary>
    public void Error(string text) => Note("error: " + text);

    private static IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (System.Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns without a terminal; a file or pipe has no width, so don't wrap tables into it.
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }

    private const int RedirectedWidth = 250;
}
