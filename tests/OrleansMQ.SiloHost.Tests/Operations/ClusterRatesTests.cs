using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.Testing.Processes;
using OrleansMQ.Tests.AzureStorage;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>
/// The management page's rates are the cluster's: two real silo-host processes in cluster mode (Azure Table membership,
/// Azure Storage log and state on a real Azurite), traffic published through silo B, rates read through silo A.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ClusterRatesTests(AzuriteFixture azurite, ITestOutputHelper log) : IDisposable
{
    private const int Messages = 64;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("cluster-rates");

    [Fact]
    public async Task Rates_read_through_one_silo_include_traffic_published_through_the_other()
    {
        var prefix = $"r{Guid.NewGuid():N}"[..16];
        string[] clusterArguments =
        [
            "--Cluster:Mode=AzureStorage",
            "--OrleansMQ:LogStorage=AzureStorage",
            "--OrleansMQ:StateStorage=AzureStorage",
            $"--OrleansMQ:AzureStorageConnectionString={azurite.ConnectionString}",
            $"--OrleansMQ:AzureNamePrefix={prefix}",
            // Own cluster id: silos of other tests on the same Azurite must not join this cluster.
            $"--Orleans:ClusterId={prefix}",
            "--Dashboard:Enabled=false",
        ];
        await using var a = await SiloHostProcess.StartAsync(_dir.File("a"), SiloStorage.File, clusterArguments);
        await using var b = await SiloHostProcess.StartAsync(_dir.File("b"), SiloStorage.File, clusterArguments);
        using var httpA = await Http.ReadyClientAsync(a.HttpPort);
        using var httpB = await Http.ReadyClientAsync(b.HttpPort);

        // Everything goes in through silo B; 16 partitions with random placement land on both silos.
        var topic = "rates-" + prefix;
        (await httpB.PutAsJsonAsync($"/topics/{topic}", new { partitions = 16 })).EnsureSuccessStatusCode();
        var batch = new { messages = Enumerable.Range(0, Messages).Select(i => new { text = $"m{i}", key = $"k{i}" }).ToArray() };
        (await httpB.PostAsJsonAsync($"/topics/{topic}/messages/batch", batch)).EnsureSuccessStatusCode();

        // Silo A's feed lists both silos, and together they counted every message.
        var deadline = DateTime.UtcNow + Deadline;
        JsonElement silos;
        while (true)
        {
            var response = await httpA.GetAsync("/ui/api/rates/silos");
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                silos = JsonDocument.Parse(body).RootElement.Clone();
                if (silos.GetArrayLength() == 2 && silos.EnumerateArray().Sum(s => s.GetProperty("totals").GetProperty("published").GetInt64()) == Messages)
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"silo A's /ui/api/rates/silos never counted {Messages} published on 2 silos: {(int)response.StatusCode} {body}\n{a.Describe()}\n{b.Describe()}");
            await Task.Delay(500);
        }

        log.WriteLine(silos.ToString());

        // Each silo's entry is what that silo itself counted (its own Prometheus endpoint), so silo A shows silo B's share.
        foreach (var (silo, http) in new[] { (a, httpA), (b, httpB) })
        {
            var entry = silos.EnumerateArray().Single(s => s.GetProperty("silo").GetString()!.Contains($":{silo.SiloPort}@", StringComparison.Ordinal));
            var own = await PublishedOnAsync(http, topic, entry.GetProperty("totals").GetProperty("published").GetInt64());
            log.WriteLine($"silo on {silo.SiloPort}: {own} published (its /metrics)");
        }

        // The cluster chart's per-second series adds up to the same count, and the overview says it is the cluster's.
        while (true)
        {
            var samples = JsonDocument.Parse(await httpA.GetStringAsync("/ui/api/rates")).RootElement;
            if (samples.EnumerateArray().Sum(s => s.GetProperty("published").GetInt64()) == Messages)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"silo A's /ui/api/rates never summed to {Messages}: {samples}");
            await Task.Delay(500);
        }

        var page = await httpA.GetStringAsync("/ui");
        Assert.Contains("In (cluster, msg/s)", page, StringComparison.Ordinal);
        Assert.Contains($"id=\"totals\">{Messages} / 0<", page, StringComparison.Ordinal);
        Assert.Equal(2, page.Split("<tr data-silo=").Length - 1);
    }

    // The silo's own count of the topic's published messages, polled until it is `expected` (the exporter caches a scrape).
    private async Task<long> PublishedOnAsync(HttpClient http, string topic, long expected)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var body = await http.GetStringAsync("/metrics");
            var count = body.Split('\n')
                .Where(l => l.StartsWith("omq_messages_published_total{", StringComparison.Ordinal) && l.Contains($"topic=\"{topic}\"", StringComparison.Ordinal))
                .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            if (count == expected)
            {
                return count;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{http.BaseAddress}metrics counted {count} published of {topic}, the rate board {expected}");
            await Task.Delay(500);
        }
    }

    public void Dispose() => _dir.Dispose();
}
