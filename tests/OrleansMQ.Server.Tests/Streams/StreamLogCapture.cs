using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Tests.Streams;

/// <summary>Keeps the stream provider's and Orleans' streaming log lines in memory, so a failing stream test can print them.</summary>
public sealed class StreamLogCapture : ILoggerProvider
{
    public static readonly ConcurrentQueue<string> Lines = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) =>
            (category.StartsWith("OrleansMQ.Streaming", StringComparison.Ordinal) && logLevel >= LogLevel.Debug)
            || (category.StartsWith("Orleans.Stream", StringComparison.Ordinal) && logLevel >= LogLevel.Debug);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
            }
        }
    }
}
