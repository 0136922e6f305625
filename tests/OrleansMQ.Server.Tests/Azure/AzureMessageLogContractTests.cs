using OrleansMQ.Server.Storage;
using OrleansMQ.Tests.Storage;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>The <see cref="IMessageLog"/> contract on the Azure backend, against a real Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureMessageLogContractTests(AzuriteFixture azurite) : MessageLogContractTests
{
    private readonly string _prefix = AzureTestLogs.NewPrefix();

    protected override IMessageLogFactory CreateFactory(long segmentBytes) => AzureTestLogs.Factory(AzureTestLogs.Options(azurite, _prefix, segmentBytes));

    protected override async ValueTask<IMessageLogFactory> RestartAsync(IMessageLogFactory factory, long segmentBytes)
    {
        await ((AzureMessageLogFactory)factory).DisposeAsync();
        return CreateFactory(segmentBytes);
    }
}
