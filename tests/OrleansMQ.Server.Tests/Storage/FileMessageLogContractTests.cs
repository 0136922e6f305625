using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

public sealed class FileMessageLogContractTests : MessageLogContractTests
{
    private readonly TempDirectory _directory = new();

    protected override IMessageLogFactory CreateFactory(long segmentBytes) => new FileMessageLogFactory(Options.Create(new FileLogOptions
    {
        DataDirectory = _directory.Path,
        SegmentBytes = segmentBytes,
        IndexIntervalBytes = 256,
    }));

    protected override async ValueTask<IMessageLogFactory> RestartAsync(IMessageLogFactory factory, long segmentBytes)
    {
        await ((FileMessageLogFactory)factory).DisposeAsync();
        return CreateFactory(segmentBytes);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
