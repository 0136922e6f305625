using OrleansMQ.Testing.Azure;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>
/// A real Azurite (the Azure Storage emulator) for the tests of one collection: started from <c>$OMQ_AZURITE_BIN</c> (set by
/// <c>scripts/test.sh</c>; when it is missing, the fixture runs the same pinned npm install into <c>.tools/azurite</c>)
/// on free loopback ports with a fresh data folder, and stopped by the process id it started (then the folder is deleted).
/// See <see cref="AzuriteProcess"/>.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    /// <summary>A connection string for the running emulator (explicit endpoints: <c>UseDevelopmentStorage</c> assumes the default ports).</summary>
    public string ConnectionString => Azurite.ConnectionString;

    /// <summary>The blob service port.</summary>
    public int BlobPort => Azurite.BlobPort;

    private AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite was not started.");

    public async Task InitializeAsync() =>
        _azurite = await AzuriteProcess.StartAsync(await AzuriteProcess.FindOrInstallAsync(), "orleansmq-azurite");

    public async Task DisposeAsync()
    {
        if (_azurite is { } azurite)
        {
            await azurite.DisposeAsync();
        }
    }

    /// <summary>
    /// Kills the emulator (its data folder and ports are kept, so <see cref="StartAgainAsync"/> brings the same storage
    /// back). For outage tests; use a fixture of your own for them.
    /// </summary>
    public Task KillAsync() => Azurite.KillAsync();

    /// <summary>Starts the emulator again after <see cref="KillAsync"/>, on the same ports and data folder.</summary>
    public Task StartAgainAsync() => Azurite.StartAgainAsync();
}

/// <summary>The tests that share one <see cref="AzuriteFixture"/> (they run one class at a time, in parallel with other collections).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
