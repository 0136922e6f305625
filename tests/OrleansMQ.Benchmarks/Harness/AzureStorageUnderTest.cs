using Azure.Data.Tables;
using Azure.Storage.Blobs;
using OrleansMQ.Testing.Azure;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// The storage account of a <c>--storage azure</c> run: the one given (<c>--azure-connection-string</c> or
/// <c>OMQ_AZURE_CONNECTION_STRING</c>), or a private Azurite started for the run. Every run uses its own name prefix, so
/// its log container (<c>{prefix}-log</c>) and state table (<c>{prefix}state</c>) are new; in a given account they are
/// deleted at the end, a private Azurite is stopped and its folder deleted.
/// </summary>
internal sealed class AzureStorageUnderTest : IAsyncDisposable
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);

    private AzureStorageUnderTest(string connectionString, AzuriteProcess? azurite)
    {
        ConnectionString = connectionString;
        Azurite = azurite;
        NamePrefix = $"omqbench{Guid.NewGuid():N}"[..20];
        BlobEndpoint = new BlobServiceClient(connectionString).Uri;
    }

    public string ConnectionString { get; }

    /// <summary>The emulator this run started; null when an account was given.</summary>
    public AzuriteProcess? Azurite { get; }

    /// <summary><c>OrleansMQServerOptions.AzureNamePrefix</c>: unique per run (lower-case letters and digits).</summary>
    public string NamePrefix { get; }

    public string ContainerName => $"{NamePrefix}-log";

    public string TableName => $"{NamePrefix}state";

    /// <summary>Where the blobs go (printed instead of the connection string, which holds the account key).</summary>
    public Uri BlobEndpoint { get; }

    public static async Task<AzureStorageUnderTest> StartAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        if (settings.AzureConnectionString is { } given)
        {
            return new AzureStorageUnderTest(given, azurite: null);
        }

        var azurite = await HarnessAzurite.StartAsync(cancellationToken);
        try
        {
            return new AzureStorageUnderTest(azurite.ConnectionString, azurite);
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    public string Describe() => Azurite is { } azurite
        ? $"private Azurite (pid {azurite.Pid}, {azurite.Executable}; blob :{azurite.BlobPort}, table :{azurite.TablePort}; folder {azurite.Location}, stopped and deleted at the end)"
        : $"given account, blob endpoint {BlobEndpoint} (container and table deleted at the end)";

    public async ValueTask DisposeAsync()
    {
        if (Azurite is { } azurite)
        {
            // The whole emulator goes, its folder with it: nothing to delete one by one.
            await azurite.DisposeAsync();
            return;
        }

        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            await new BlobServiceClient(ConnectionString).GetBlobContainerClient(ContainerName).DeleteIfExistsAsync(cancellationToken: timeout.Token);
            await new TableServiceClient(ConnectionString).DeleteTableAsync(TableName, timeout.Token);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"warning: could not delete the run's container {ContainerName} / table {TableName}: {ex.Message}");
        }
    }
}
