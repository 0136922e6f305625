using Microsoft.Extensions.Options;
using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

public class FileMessageLogContractTests : MessageLogContractTests
{
    private readonly TempDirectory _directory = new();

    /// <summary>Whether the factory runs with the silo-wide journal (<see cref="FileLogOptions.Journal"/>).</summary>
    protected virtual bool Journal => false;

    protected override IMessageLogFactory CreateFactory(long segmentBytes) => new FileMessageLogFactory(Options.Create(new FileLogOptions
    {
        DataDirectory = _directory.Path,
        SegmentBytes = segmentBytes,
        IndexIntervalBytes = 256,
        Journal = Journal,
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

/// <summary>The log contract, with the journal on.</summary>
public sealed class FileMessageLogJournalContractTests : FileMessageLogContractTests
{
    protected override bool Journal => true;
}
