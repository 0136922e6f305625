using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>Azure log factories over the shared Azurite, each test on its own container.</summary>
internal static class AzureTestLogs
{
    /// <summary>A unique <see cref="AzureLogOptions.NamePrefix"/>, so tests never see each other's blobs.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..16];

    public static AzureLogOptions Options(AzuriteFixture azurite, string prefix, long segmentBytes = AzureLogOptions.DefaultSegmentBytes) => new()
    {
        ConnectionString = azurite.ConnectionString,
        NamePrefix = prefix,
        SegmentBytes = segmentBytes,
        IndexIntervalBytes = 256,
    };

    public static AzureMessageLogFactory Factory(AzureLogOptions options) => new(Microsoft.Extensions.Options.Options.Create(options));

    public static BlobContainerClient Container(AzuriteFixture azurite, string prefix) =>
        new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{prefix}-log");
}
