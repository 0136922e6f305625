using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Opens (and recovers) <see cref="AzureMessageLog"/>s in one Azure Storage account (Azurite in development). Every silo
/// of a cluster uses the same account and <see cref="AzureLogOptions.NamePrefix"/>, so a partition can be opened on any
/// silo. Register it as a singleton; disposing it closes every log it opened.
/// </summary>
public sealed class AzureMessageLogFactory : IMessageLogFactory, IAsyncDisposable
{
    private readonly AzureLogOptions _options;
    private readonly ILogger _logger;
    private readonly BlobContainerClient _container;
    private readonly OpenLogRegistry<AzureMessageLog> _open;
    private readonly Lock _containerSync = new();
    private Task? _containerReady;

    /// <summary>Creates the factory. No request is sent until the first <see cref="OpenAsync"/>.</summary>
    /// <param name="options">The options; validated here (<see cref="AzureLogOptionsValidator"/>) and copied, so later changes have no effect.</param>
    /// <param name="logger">Where recovery, fencing, retention and write failures are logged.</param>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public AzureMessageLogFactory(IOptions<AzureLogOptions> options, ILogger<AzureMessageLogFactory>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _open = new(this);
        var value = options.Value;
        var validation = new AzureLogOptionsValidator().Validate(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(AzureLogOptions), validation.Failures);
        }

        var client = value.BlobServiceClient ?? new BlobServiceClient(value.ConnectionString);
        _options = new AzureLogOptions
        {
            BlobServiceClient = client,
            ConnectionString = value.ConnectionString,
            NamePrefix = value.NamePrefix,
            CreateContainerIfNotExists = value.CreateContainerIfNotExists,
            SegmentBytes = value.SegmentBytes,
            MaxAppendBytes = value.MaxAppendBytes,
            MaxBlocksPerSegment = value.MaxBlocksPerSegment,
            IndexIntervalBytes = value.IndexIntervalBytes,
            TailCacheBytes = value.TailCacheBytes,
            OwnershipCheckInterval = value.OwnershipCheckInterval,
        };
        _logger = logger ?? NullLogger<AzureMessageLogFactory>.Instance;
        _container = client.GetBlobContainerClient(_options.ContainerName);
    }

    /// <summary>The container holding the segment blobs.</summary>
    internal BlobContainerClient Container => _container;

    /// <inheritdoc />
    /// <remarks>
    /// Recovery runs off the caller's scheduler. Opening takes ownership of the partition (see <see cref="AzureMessageLog"/>):
    /// an instance opened earlier, by this factory or by another process, can no longer write. An older instance of this
    /// factory is disposed first (waiting for its appends in flight), so it throws <see cref="ObjectDisposedException"/>;
    /// one in another process throws <see cref="LogFencedException"/> on its next append.
    /// </remarks>
    /// <exception cref="OrleansMQException">The topic name is invalid.</exception>
    /// <exception cref="LogCorruptionException">The segments are inconsistent beyond what recovery may repair.</exception>
    /// <exception cref="LogFencedException">Other instances kept writing the partition while this one tried to take it over.</exception>
    public async ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return await _open.OpenAsync(topic, partition, async () =>
            {
                await EnsureContainerAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                return await Task.Run(() => AzureMessageLog.OpenAsync(this, _container, _options, _logger, topic, partition, cancellationToken), cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes every open log (waiting for their appends).</summary>
    public async ValueTask DisposeAsync() => await _open.DisposeAsync().ConfigureAwait(false);

    internal void Unregister(AzureMessageLog log) => _open.Unregister(log.Topic, log.Partition, log);

    // Once per factory; a failed attempt is retried by the next open.
    private Task EnsureContainerAsync()
    {
        if (!_options.CreateContainerIfNotExists)
        {
            return Task.CompletedTask;
        }

        lock (_containerSync)
        {
            if (_containerReady is null || _containerReady.IsFaulted || _containerReady.IsCanceled)
            {
                _containerReady = _container.CreateIfNotExistsAsync();
            }

            return _containerReady;
        }
    }
}
