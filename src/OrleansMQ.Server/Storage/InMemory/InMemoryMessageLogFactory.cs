using System.Collections.Concurrent;

namespace OrleansMQ.Server.Storage;

/// <summary>
/// Opens <see cref="InMemoryMessageLog"/>s. The data lives in the factory, so opening a partition again (after the previous
/// instance was disposed, as on a grain re-activation) sees everything appended before. For tests and benchmarks.
/// </summary>
public sealed class InMemoryMessageLogFactory : IMessageLogFactory
{
    /// <summary>The default segment size: 1 MiB.</summary>
    public const long DefaultSegmentBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<(string Topic, int Partition), InMemoryPartitionData> _partitions = new();

    /// <summary>Creates a factory.</summary>
    /// <param name="segmentBytes">
    /// Bytes (as the file log would store them) after which a new segment starts; retention deletes whole segments,
    /// exactly like <see cref="FileMessageLog"/> with the same <see cref="FileLogOptions.SegmentBytes"/>.
    /// </param>
    public InMemoryMessageLogFactory(long segmentBytes = DefaultSegmentBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(segmentBytes);
        SegmentBytes = segmentBytes;
    }

    /// <summary>Bytes after which a new segment starts.</summary>
    public long SegmentBytes { get; }

    /// <inheritdoc />
    /// <remarks>Opening a partition that is still open supersedes the older instance: it throws <see cref="ObjectDisposedException"/> from then on.</remarks>
    public ValueTask<IMessageLog> OpenAsync(string topic, int partition, CancellationToken cancellationToken = default)
    {
        Names.Validate(topic, "topic");
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        cancellationToken.ThrowIfCancellationRequested();
        var key = (topic, partition);
        while (true)
        {
            var data = _partitions.GetOrAdd(key, static _ => new InMemoryPartitionData());
            lock (data.Sync)
            {
                if (data.Deleted)
                {
                    continue;
                }

                data.Epoch++;
                return ValueTask.FromResult<IMessageLog>(new InMemoryMessageLog(this, key, data, data.Epoch));
            }
        }
    }

    internal void Remove((string Topic, int Partition) key, InMemoryPartitionData data) =>
        _partitions.TryRemove(KeyValuePair.Create(key, data));
}
