using System.Net.Http.Json;
using System.Text.Json;
using OrleansMQ.SiloHost.Tests.Operations.Otlp;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Operations;

/// <summary>
/// <c>Telemetry:Otlp</c> of a real silo-host process exporting over OTLP/HTTP (http/protobuf) to a real receiver in the
/// test: the broker's counters and its consumer spans arrive as well-formed OTLP messages.
/// </summary>
public sealed class OtlpExportTests(ITestOutputHelper log)
{
    private const int Messages = 5;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Silo_host_exports_the_OrleansMQ_meter_and_activity_source_over_OTLP_http_protobuf()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var data = new TempDirectory("otlp");
        await using var silo = await SiloHostProcess.StartAsync(data.Path, SiloStorage.File,
            $"--Telemetry:Otlp:Endpoint={receiver.Endpoint}",
            "--Telemetry:Otlp:Protocol=http/protobuf",
            "--Telemetry:Otlp:ExportIntervalMilliseconds=1000",
            "--Dashboard:Enabled=false");
        using var http = await Http.ReadyClientAsync(silo.HttpPort);

        var topic = "otlp-" + Guid.NewGuid().ToString("N")[..10];
        (await http.PutAsJsonAsync($"/topics/{topic}", new { partitions = 1 })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/topics/{topic}/subscriptions/s", new { type = "Shared", start = "Earliest" })).EnsureSuccessStatusCode();
        // The producer's trace (W3C trace context in the message headers, sampled) continues in the consumer spans.
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        for (var i = 0; i < Messages; i++)
        {
            var traceParent = $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01";
            (await http.PostAsJsonAsync($"/topics/{topic}/messages", new { text = $"m{i}", headers = new Dictionary<string, string> { ["traceparent"] = traceParent } })).EnsureSuccessStatusCode();
        }

        // Consume and ack them all over REST (the gateway consumes through the client library, which traces each delivery).
        var received = 0;
        var deadline = DateTime.UtcNow + Deadline;
        while (received < Messages)
        {
            Assert.True(DateTime.UtcNow < deadline, $"received {received} of {Messages}\n{silo.Describe()}");
            var response = await http.PostAsync($"/topics/{topic}/subscriptions/s/receive?max={Messages}&wait=2s&consumer=otlp", null);
            response.EnsureSuccessStatusCode();
            var deliveries = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("deliveries");
            var ids = deliveries.EnumerateArray().Select(d => d.GetProperty("deliveryId").GetString()!).ToList();
            if (ids.Count > 0)
            {
                (await http.PostAsJsonAsync($"/topics/{topic}/subscriptions/s/ack?consumer=otlp", new { ids })).EnsureSuccessStatusCode();
                received += ids.Count;
            }
        }

        // The receiver gets the counters (cumulative: the last export of the published counter for this topic says 5) and
        // the "process <topic>" spans of the OrleansMQ activity source.
        while (true)
        {
            var points = receiver.Metrics.ToArray().SelectMany(OtlpWire.SumPoints).ToList();
            var spans = receiver.Traces.ToArray().SelectMany(OtlpWire.Spans).ToList();
            var published = points.LastOrDefault(p => p.Scope == "OrleansMQ" && p.Metric == "omq.messages.published" && p.Attributes.GetValueOrDefault("topic") == topic);
            var acked = points.LastOrDefault(p => p.Scope == "OrleansMQ" && p.Metric == "omq.messages.acked" && p.Attributes.GetValueOrDefault("topic") == topic);
            var processed = spans.Where(s => s.Scope == "OrleansMQ" && s.Name == $"process {topic}").ToList();
            if (published?.Value == Messages && acked?.Value == Messages && processed.Count >= Messages)
            {
                log.WriteLine($"{receiver.Metrics.Count} metric exports, {receiver.Traces.Count} trace exports; spans: {string.Join(", ", processed.Select(s => s.TraceId))}");
                Assert.All(processed, s => Assert.Equal(traceId, s.TraceId));
                var names = receiver.Metrics.ToArray().SelectMany(OtlpWire.Metrics).Where(m => m.Scope == "OrleansMQ").Select(m => m.Metric).ToHashSet();
                Assert.Contains("omq.append.duration", names);
                Assert.Contains("omq.messages.delivered", names);
                Assert.Empty(receiver.Refused);
                return;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"the receiver did not get the topic's counters and spans: published {published?.Value}, acked {acked?.Value}, {processed.Count} process spans; "
                + $"{receiver.Metrics.Count} metric and {receiver.Traces.Count} trace exports; refused: {string.Join("; ", receiver.Refused)}\n{silo.Describe()}");
            await Task.Delay(500);
        }
    }
}
