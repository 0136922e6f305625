using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Opens (and recovers) <see cref="FileMessageLog"/>s under <see cref="FileLogOptions.DataDirectory"/>, and owns the one
/// <see cref="FileLogWriter"/> thread they share. Register it as a singleton; disposing it closes every open log.
/// </summary>
public sealed class FileMessageLogFactory : IMessageLogFactory, IAsyncDisposable, IDisposable
{
    private readonly FileLogOptions _options;
    private readonly ILogger _logger;
    private readonly FileLogWriter _writer;
    private readonly OpenLogRegistry<FileMessageLog> _open;

    /// <summary>Creates the factory and starts its writer thread.</summary>
    /// <param name="options">The options; validated here (<see cref="FileLogOptionsValidator"/>) and copied, so later changes have no effect.</param>
    /// <param name="logger">Where recovery, retention and write failures are logged.</param>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public FileMessageLogFactory(IOptions<FileLogOptions> options, ILogger<FileMessageLogFactory>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _open = new(this);
        var value = options.Value;
        var validation = new FileLogOptionsValidator().Validate(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(FileLogOptions), validation.Failures);
        }

        _options = new FileLogOptions
        {
            DataDirectory = Path.GetFullPath(value.DataDirectory),
            SegmentBytes = value.SegmentBytes,
            MaxBytesPerCommit = value.MaxBytesPerCommit,
            FsyncPolicy = value.FsyncPolicy,
            IndexIntervalBytes = value.IndexIntervalBytes,
            ParallelFlushes = value.ParallelFlushes,
            Journal = value.Journal,
            JournalBytes = value.JournalBytes,
            StoreFanOutOnce = value.StoreFanOutOnce,
        };
        _logger = logger ?? NullLogger<FileMessageLogFactory>.Instance;
        _writer = new FileLogWriter(_options, _logger);
        try
        {
            // After the journal replay (the writer's constructor), before any partition log opens.
            Store = FanOutStore.Open(this, _writer, _options, _logger);
            _writer.Store = Store;
        }
        catch
        {
            _writer.Dispose();
            throw;
        }
    }

    /// <summary>The fan-out store of this factory's logs.</summary>
    internal FanOutStore? Store { get; }

    /// <summary>The writer thread shared by this factory's logs.</summary>
    internal FileLogWriter Writer => _writer;

    /// <summary>The writer thread's commit rounds so far.</summary>
    internal long CommitRounds => _writer.Rounds;

    /// <inheritdoc />
    /// <remarks>
    /// Recovery runs on the thread pool, off the caller's scheduler. Opening a partition that is still open first disposes
    /// the older instance (waiting for its appends in flight), which then throws <see cref="ObjectDisposedException"/>:
    /// at most one instance writes a partition's files.
    /// </remarks>
    /// <exception cref="OrleansMQException">The topic name is invalid.</exception>
    /// <exception cref="LogCorruptionException">The segments are inconsistent beyond what recovery may repair.</exception>
    public async ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return await _open.OpenAsync(topic, partition, () => Task.Run(() => FileMessageLog.Open(this, _writer, _options, _logger, topic, partition), cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes every open log (waiting for their appends) and stops the writer thread.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!await _open.DisposeAsync().ConfigureAwait(false))
        {
            return;
        }

        if (Store is not null)
        {
            await Store.Log.DisposeAsync().ConfigureAwait(false);
        }

        _writer.Dispose();
    }

    /// <inheritdoc cref="DisposeAsync" />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal void Unregister(FileMessageLog log) => _open.Unregister(log.Topic, log.Partition, log);
}
