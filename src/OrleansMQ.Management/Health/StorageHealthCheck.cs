using Azure.Storage.Blobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Management.Health;

/// <summary>
/// Readiness: the broker's storage accepts writes. File storage: a probe file can be written, flushed and deleted in the
/// data directory (which must exist: it is never re-created here, so a removed or read-only directory is unhealthy).
/// Azure Storage: the blob service answers within the timeout. In-memory: always healthy.
/// </summary>
internal sealed class StorageHealthCheck(IOptions<OrleansMQServerOptions> options) : IHealthCheck
{
    private static readonly TimeSpan AzureTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var data = new Dictionary<string, object> { ["log"] = settings.LogStorage.ToString(), ["state"] = settings.StateStorage.ToString() };
        if (settings.LogStorage == LogStorageKind.File || settings.StateStorage == LogStorageKind.File)
        {
            var directory = Path.GetFullPath(settings.DataDirectory);
            data["dataDirectory"] = directory;
            if (!Directory.Exists(directory))
            {
                return HealthCheckResult.Unhealthy($"The data directory {directory} does not exist.", data: data);
            }

            var probe = Path.Combine(directory, $".health-{Guid.NewGuid():N}");
            try
            {
                await using (var file = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough))
                {
                    await file.WriteAsync("ok"u8.ToArray(), cancellationToken);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return HealthCheckResult.Unhealthy($"The data directory {directory} is not writable: {ex.Message}", ex, data);
            }
            finally
            {
                TryDelete(probe);
            }
        }

        if (settings.LogStorage == LogStorageKind.AzureStorage || settings.StateStorage == LogStorageKind.AzureStorage)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(AzureTimeout);
                await new BlobServiceClient(settings.AzureStorageConnectionString).GetPropertiesAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"Azure Storage is not reachable: {ex.Message}", ex, data);
            }
        }

        return HealthCheckResult.Healthy("Storage accepts writes.", data);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The check's answer is what counts; a leftover probe file is harmless.
        }
    }
}
