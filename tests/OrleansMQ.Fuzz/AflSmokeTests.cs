using System.Globalization;
using System.Text.RegularExpressions;
using OrleansMQ.Fuzz.Targets;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.Fuzz;

/// <summary>
/// The coverage-guided fuzz smoke: <c>scripts/fuzz.sh --smoke</c> runs afl-fuzz (AFL++, installed by scripts/test.sh)
/// over every SharpFuzz-instrumented target for a few seconds from the committed corpus, instrumenting a copy of this
/// test's own build (OMQ_FUZZ_BUILD_DIR) so nothing is rebuilt under the running suite. A crash or hang afl-fuzz saves
/// fails the script and this test; so does a target that never ran an input.
/// </summary>
public sealed partial class AflSmokeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task Afl_fuzzing_every_target_for_a_few_seconds_finds_nothing()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("OMQ_AFL_SMOKE_SECONDS"), out var s) ? s : 10;
        await using var script = ChildProcess.StartProgram("fuzz.sh --smoke", "bash",
            [Path.Combine(BuildOutputs.RepoRoot, "scripts", "fuzz.sh"), "--smoke", seconds.ToString(CultureInfo.InvariantCulture)], BuildOutputs.RepoRoot,
            new Dictionary<string, string> { ["OMQ_FUZZ_BUILD_DIR"] = AppContext.BaseDirectory });
        var exit = await script.WaitForExitAsync(Deadline);
        output.WriteLine(script.Output);
        Assert.True(exit == 0, $"scripts/fuzz.sh --smoke exited {exit}:{Environment.NewLine}{script.Describe()}");

        foreach (var target in FuzzTargets.Names)
        {
            var executions = Stat(script.Output, target, "execs_done");
            Assert.True(executions > 0, $"{target}: afl-fuzz ran no input{Environment.NewLine}{script.Output}");
            Assert.Equal(0, Stat(script.Output, target, "saved_crashes"));
            Assert.Equal(0, Stat(script.Output, target, "saved_hangs"));
        }

        Assert.Contains("no findings", script.Output, StringComparison.Ordinal);
    }

    private static long Stat(string text, string target, string name)
    {
        var match = Regex.Match(text, $@"^{Regex.Escape(target)}: {name}\s*:\s*(\d+)", RegexOptions.Multiline);
        Assert.True(match.Success, $"{target}: no '{name}' in the afl-fuzz statistics{Environment.NewLine}{text}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
