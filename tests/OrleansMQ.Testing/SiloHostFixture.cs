using OrleansMQ.Testing.Processes;
using Xunit;

namespace OrleansMQ.Testing;

/// <summary>
/// One running silo host, configured like a real deployment (file log and file state), shared by a test class or a test
/// collection (tests use unique topic names), on its own temp data directory.
/// </summary>
public sealed class SiloHostFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new("shared");
    private SiloHostProcess? _silo;

    public SiloHostProcess Silo => _silo ?? throw new InvalidOperationException("The silo host has not started.");

    public async Task InitializeAsync()
    {
        try
        {
            _silo = await SiloHostProcess.StartAsync(_data.Path, SiloStorage.File);
        }
        catch
        {
            // xunit does not call DisposeAsync when InitializeAsync throws.
            _data.Dispose();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_silo is not null)
            {
                await _silo.DisposeAsync();
            }
        }
        finally
        {
            _data.Dispose();
        }
    }
}
