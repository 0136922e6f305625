using OrleansMQ.SiloHost.Tests.Processes;
using OrleansMQ.Testing;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>The client sample, run as its own process, against the silo host, run as its own process.</summary>
public sealed class ClientSampleTests(SiloHostFixture fixture, ITestOutputHelper log) : IClassFixture<SiloHostFixture>
{
    [Fact]
    public async Task Client_sample_demo_passes_against_a_real_silo_host()
    {
        var silo = fixture.Silo;

        await using var demo = await SampleClient.RunAsync("demo", silo.GatewayPort, "--run-id", Guid.NewGuid().ToString("N")[..8]);

        log.WriteLine($"silo started in {silo.LastStartDuration.TotalSeconds:0.0} s; demo ran {demo.Elapsed.TotalSeconds:0.0} s");
        Assert.True(demo.ExitCode == 0 && demo.Output.Contains("all checks passed", StringComparison.Ordinal),
            $"The demo should exit 0 and print \"all checks passed\".\n{demo.Describe()}\n{silo.Describe()}");
    }
}
