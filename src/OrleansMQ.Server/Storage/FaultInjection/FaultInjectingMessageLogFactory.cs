using Microsoft.Extensions.Logging;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Test-only decorator of a log backend (see <see cref="FaultInjectionOptions"/>): opens logs through the real factory and
/// wraps them in <see cref="FaultInjectingMessageLog"/>, which consults the current fault on every append and read. The
/// control file is re-read at most every 100 ms when its modification time changed.
/// </summary>
public sealed partial class FaultInjectingMessageLogFactory : IMessageLogFactory, IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly IMessageLogFactory _inner;
    private readonly string _controlFile;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private InjectedFault _current = InjectedFault.None;
    private DateTime _lastWrite = DateTime.MinValue;
    private long _nextPoll;

    /// <summary>Wraps <paramref name="inner"/>; faults come from <paramref name="controlFile"/>.</summary>
    public FaultInjectingMessageLogFactory(IMessageLogFactory inner, string controlFile, ILogger<FaultInjectingMessageLogFactory>? logger)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrWhiteSpace(controlFile);
        _inner = inner;
        _controlFile = controlFile;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        LogEnabled(_logger, controlFile);
    }

    /// <inheritdoc />
    public async ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default)
    {
        await Current.BeforeAsync(reading: true, cancellationToken);
        return new FaultInjectingMessageLog(await _inner.OpenAsync(topic, partition, cancellationToken), this);
    }

    /// <summary>The fault to inject now.</summary>
    internal InjectedFault Current
    {
        get
        {
            var now = Environment.TickCount64;
            lock (_lock)
            {
                if (now < _nextPoll)
                {
                    return _current;
                }

                _nextPoll = now + (long)PollInterval.TotalMilliseconds;
                var lastWrite = File.Exists(_controlFile) ? File.GetLastWriteTimeUtc(_controlFile) : DateTime.MinValue;
                if (lastWrite != _lastWrite)
                {
                    _lastWrite = lastWrite;
                    var line = lastWrite == DateTime.MinValue ? null : File.ReadLines(_controlFile).FirstOrDefault();
                    var fault = InjectedFault.Parse(line);
                    if (fault != _current)
                    {
                        _current = fault;
                        LogFaultChanged(_logger, fault.Kind, (long)fault.Delay.TotalMilliseconds);
                    }
                }

                return _current;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    [LoggerMessage(EventId = 3190, Level = LogLevel.Warning, Message = "Storage fault injection is ENABLED (test only); faults are read from '{ControlFile}'")]
    private static partial void LogEnabled(ILogger logger, string controlFile);

    [LoggerMessage(EventId = 3191, Level = LogLevel.Warning, Message = "Storage fault injection: now injecting {Kind} (delay {DelayMs} ms)")]
    private static partial void LogFaultChanged(ILogger logger, InjectedFaultKind kind, long delayMs);
}
