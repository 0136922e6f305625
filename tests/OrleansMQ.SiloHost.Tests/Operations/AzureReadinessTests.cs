using System.Net;
using System.Text.Json;
using OrleansMQ.Testing.Processes;
using OrleansMQ.Tests.AzureStorage;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>
/// Readiness in cluster mode follows Azure Storage: a real silo-host process (Azure Table membership, Azure Storage log and
/// state) on an Azurite of this test's own (its own ports and data folder; the shared Azurite of other tests is untouched),
/// which the test kills by process id and starts again.
/// </summary>
public sealed class AzureReadinessTests(ITestOutputHelper log) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly AzuriteFixture _azurite = new();
    private readonly TempDirectory _dir = new("azure-ready");

    public Task InitializeAsync() => _azurite.InitializeAsync();

    [Fact]
    public async Task Ready_turns_unhealthy_while_Azure_Storage_is_down_and_healthy_again_when_it_is_back_while_live_stays_healthy()
    {
        var prefix = $"h{Guid.NewGuid():N}"[..16];
        await using var silo = await SiloHostProcess.StartAsync(_dir.File("silo"), SiloStorage.File,
            "--Cluster:Mode=AzureStorage",
            "--OrleansMQ:LogStorage=AzureStorage",
            "--OrleansMQ:StateStorage=AzureStorage",
            $"--OrleansMQ:AzureStorageConnectionString={_azurite.ConnectionString}",
            $"--OrleansMQ:AzureNamePrefix={prefix}",
            $"--Orleans:ClusterId={prefix}",
            "--Dashboard:Enabled=false",
            "--Management:Enabled=false");
        using var http = await Http.ReadyClientAsync(silo.HttpPort);

        var ready = await PollAsync(http, "/health/ready", HttpStatusCode.OK, silo);
        Assert.Equal("AzureStorage", ready.GetProperty("checks").GetProperty("storage").GetProperty("data").GetProperty("log").GetString());

        await _azurite.KillAsync();
        var down = await PollAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable, silo);
        log.WriteLine(down.ToString());
        var storage = down.GetProperty("checks").GetProperty("storage");
        Assert.Equal("Unhealthy", storage.GetProperty("status").GetString());
        Assert.Contains("Azure Storage is not reachable", storage.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        await _azurite.StartAgainAsync();
        var back = await PollAsync(http, "/health/ready", HttpStatusCode.OK, silo);
        Assert.Equal("Healthy", back.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _azurite.DisposeAsync();
        }
        finally
        {
            _dir.Dispose();
        }
    }

    private static async Task<JsonElement> PollAsync(HttpClient http, string path, HttpStatusCode expected, SiloHostProcess silo)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var response = await http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == expected)
            {
                return JsonDocument.Parse(body).RootElement.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} answered {(int)response.StatusCode} {body}, not {(int)expected}, within {Deadline.TotalSeconds:0} s\n{silo.Describe()}");
            await Task.Delay(250);
        }
    }
}
