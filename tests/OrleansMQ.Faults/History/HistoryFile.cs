using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Faults.History;

/// <summary>
/// JSON Lines history files: one record per line, appended and flushed line by line (a crashed writer leaves at most one
/// torn last line, which <see cref="Read{T}"/> skips), safe to append to from several threads.
/// </summary>
public sealed class HistoryFile<T> : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Lock _lock = new();

    /// <summary>Opens <paramref name="path"/> for appending.</summary>
    public HistoryFile(string path)
    {
        Path = path;
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Appends one record as a line.</summary>
    public void Append(T record)
    {
        var line = JsonSerializer.Serialize(record, HistoryJson.Options);
        lock (_lock)
        {
            _writer.WriteLine(line);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }
}

/// <summary>Reading history files.</summary>
public static class HistoryJson
{
    /// <summary>camelCase, enums as strings, nulls left out.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The records of every file (missing files count as empty); an unparsable last line (torn by a crash) is skipped.</summary>
    public static List<T> Read<T>(IEnumerable<string> paths)
    {
        var records = new List<T>();
        foreach (var path in paths.Where(File.Exists))
        {
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length == 0)
                {
                    continue;
                }

                try
                {
                    records.Add(JsonSerializer.Deserialize<T>(lines[i], Options) ?? throw new JsonException("null record"));
                }
                catch (JsonException) when (i == lines.Length - 1)
                {
                    // A torn last line: its writer died mid-write.
                }
            }
        }

        return records;
    }
}
