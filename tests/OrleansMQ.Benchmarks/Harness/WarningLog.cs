using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// Collects warnings and errors from the silo and the client (Orleans reports stalls, slow turns and timeouts this way).
/// The first few are echoed to stderr as they happen; the report shows the count per category.
/// </summary>
internal sealed class WarningLog
{
    private const int EchoLimit = 20;
    private readonly ConcurrentDictionary<string, int> _byCategory = new(StringComparer.Ordinal);
    private int _total;

    public int Total => Volatile.Read(ref _total);

    public ILoggerProvider CreateProvider(string source) => new Provider(this, source);

    public IEnumerable<KeyValuePair<string, int>> ByCategory => _byCategory.OrderByDescending(kv => kv.Value);

    private void Add(string source, string category, LogLevel level, string message, Exception? exception)
    {
        _byCategory.AddOrUpdate($"{source}: {category}", 1, static (_, n) => n + 1);
        if (Interlocked.Increment(ref _total) <= EchoLimit)
        {
            var text = message.Length > 300 ? message[..300] + "…" : message;
            var error = exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]";
            Console.Error.WriteLine($"  [{source} {level}] {category}: {text}{error}");
        }
    }

    private sealed class Provider(WarningLog log, string source) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(log, source, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(WarningLog log, string source, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Add(source, category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}
