using System.Net;
using System.Text.Json;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>Liveness and readiness of a real silo-host process, and the switches that turn the page and the dashboard off.</summary>
public sealed class HealthEndpointTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Ready_turns_unhealthy_when_the_data_directory_is_removed_while_live_stays_healthy()
    {
        using var data = new TempDirectory("health");
        var dataDirectory = Path.Combine(data.Path, "data");
        await using var silo = await SiloHostProcess.StartAsync(dataDirectory, SiloStorage.File, "--Dashboard:Enabled=false", "--Management:Enabled=false");
        using var http = await Http.ReadyClientAsync(silo.HttpPort);

        // Ready once the silo is active and the data directory takes writes.
        var ready = await PollAsync(http, "/health/ready", HttpStatusCode.OK);
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal("Active", ready.GetProperty("checks").GetProperty("silo").GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        // Storage gone: not ready (503), and the check says why; the process itself is still live.
        Directory.Delete(dataDirectory, recursive: true);
        var notReady = await PollAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable);
        log.WriteLine(notReady.ToString());
        Assert.Equal("Unhealthy", notReady.GetProperty("status").GetString());
        var storage = notReady.GetProperty("checks").GetProperty("storage");
        Assert.Equal("Unhealthy", storage.GetProperty("status").GetString());
        Assert.Contains("does not exist", storage.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", notReady.GetProperty("checks").GetProperty("silo").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        // Turned off by configuration.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dashboard/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/ui")).StatusCode);
    }

    private static async Task<JsonElement> PollAsync(HttpClient http, string path, HttpStatusCode expected)
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

            Assert.True(DateTime.UtcNow < deadline, $"{path} answered {(int)response.StatusCode} {body}, not {(int)expected}, within {Deadline.TotalSeconds:0} s");
            await Task.Delay(250);
        }
    }
}
