namespace OrleansMQ.Server.Storage;

/// <summary>A message log that fails, reports a full disk, or slows down on request (see <see cref="FaultInjectionOptions"/>).</summary>
/// <remarks>An injected failure is thrown before the inner log is called, so the failed append wrote nothing.</remarks>
internal sealed class FaultInjectingMessageLog(IMessageLog inner, FaultInjectingMessageLogFactory factory) : IMessageLog
{
    public long LowWatermark => inner.LowWatermark;

    public long HighWatermark => inner.HighWatermark;

    public long SizeBytes => inner.SizeBytes;

    public async ValueTask<long> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
    {
        await factory.Current.BeforeAsync(reading: false, cancellationToken);
        return await inner.AppendAsync(records, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<LogRecord>> ReadAsync(long fromOffset, int maxRecords, int maxBytes, CancellationToken cancellationToken = default)
    {
        await factory.Current.BeforeAsync(reading: true, cancellationToken);
        return await inner.ReadAsync(fromOffset, maxRecords, maxBytes, cancellationToken);
    }

    public ValueTask VerifyOwnershipAsync(CancellationToken cancellationToken = default) => inner.VerifyOwnershipAsync(cancellationToken);

    public ValueTask<long> FindOffsetAsync(DateTimeOffset timestamp, CancellationToken cancellationToken = default) => inner.FindOffsetAsync(timestamp, cancellationToken);

    public long EstimateBytesFrom(long offset) => inner.EstimateBytesFrom(offset);

    public ValueTask<long> ApplyRetentionAsync(RetentionRequest request, CancellationToken cancellationToken = default) => inner.ApplyRetentionAsync(request, cancellationToken);

    public ValueTask DeleteAsync(CancellationToken cancellationToken = default) => inner.DeleteAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
