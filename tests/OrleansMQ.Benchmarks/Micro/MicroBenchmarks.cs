using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace OrleansMQ.Benchmarks.Micro;

/// <summary>Runs the BenchmarkDotNet classes of this assembly; arguments are BenchmarkDotNet's own (e.g. <c>--filter *Codec*</c>).</summary>
internal static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        // In-process: BenchmarkDotNet's generated project would otherwise inherit the repository's strict build settings.
        // 3 warm-up + 10 measured iterations keep a class to about a minute; the default job takes several.
        var config = DefaultConfig.Instance
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10).AsDefault());
        var filtered = args.Length == 0 ? ["--filter", "*"] : args;
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroBenchmarks).Assembly).Run(filtered, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
