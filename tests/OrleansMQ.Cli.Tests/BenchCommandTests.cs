using OrleansMQ.Testing;

namespace OrleansMQ.Cli.Tests;

/// <summary>omq bench against a real silo-host process. No figure is asserted against a target: the machine is shared.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BenchCommandTests(SiloHostFixture broker, ITestOutputHelper log)
{
    private readonly Omq _omq = new(broker.Silo.GatewayPort, log, broker.Silo.Describe);

    [Fact]
    public async Task Bench_publishes_and_consumes_every_message_and_reports_throughput_and_latency_as_json()
    {
        var result = (await _omq.RunAsync("bench", "--messages", "2000", "--partitions", "2", "--size", "64", "-o", "json")).Succeeded().Json();
        log.WriteLine(result.ToString());
        Assert.Equal(2000, result.Long("published"));
        Assert.Equal(2000, result.Long("consumed"));
        Assert.Equal(0, result.Long("publishFailed"));
        Assert.Equal(2, result.Int("partitions"));
        Assert.True(result.GetProperty("publishRate").GetDouble() > 0);
        Assert.True(result.GetProperty("consumeRate").GetDouble() > 0);
        foreach (var name in new[] { "publishLatency", "endToEndLatency" })
        {
            var latency = result.GetProperty(name);
            Assert.Equal(2000, latency.Long("count"));
            var (p50, p99, max) = (latency.GetProperty("p50").GetDouble(), latency.GetProperty("p99").GetDouble(), latency.GetProperty("max").GetDouble());
            Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"{name}: p50 {p50}, p99 {p99}, max {max}");
        }

        // The run's own topic is deleted afterwards.
        var topics = (await _omq.RunAsync("topic", "list", "-o", "json")).Succeeded().Json().Items().Select(t => t.Str("name"));
        Assert.DoesNotContain(result.Str("topic"), topics);
    }

    [Fact]
    public async Task Bench_at_a_rate_on_a_named_topic_prints_a_summary_and_keeps_the_topic()
    {
        var topic = TestNames.Unique("bench-named");
        var run = (await _omq.RunAsync("bench", "--topic", topic, "--messages", "300", "--rate", "500", "--partitions", "1")).Succeeded();
        var stdout = string.Join('\n', run.Stdout);
        Assert.Contains($"bench {topic}", stdout, StringComparison.Ordinal);
        Assert.Contains("at 500 msg/s", stdout, StringComparison.Ordinal);
        Assert.Contains("p99", stdout, StringComparison.Ordinal);
        Assert.Contains("end to end", stdout, StringComparison.Ordinal);

        var described = (await _omq.RunAsync("sub", "describe", topic, "bench", "-o", "json")).Succeeded().Json();
        log.WriteLine(described.ToString());
        var partitions = (await _omq.RunAsync("topic", "describe", topic, "-o", "json")).Succeeded().Json().Items("partitions");
        Assert.Equal(300, partitions.Sum(p => p.Long("highWatermark")));
    }

    [Fact]
    public async Task Bench_refuses_a_body_too_small_for_its_sequence_and_time_stamp()
    {
        (await _omq.RunAsync("bench", "--size", "8")).Failed(4, "InvalidArgument");
    }
}
