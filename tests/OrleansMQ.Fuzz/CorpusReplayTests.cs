using OrleansMQ.Fuzz.Targets;
using Xunit.Sdk;

namespace OrleansMQ.Fuzz;

/// <summary>
/// The CI fuzz smoke: every committed corpus input (seeds plus whatever afl-fuzz found and was kept), then a few
/// thousand seeded mutations of them, through each target. Only the target's documented exceptions may come out.
/// The seed is printed; set OMQ_FUZZ_SEED to replay a failing run, OMQ_FUZZ_ITERATIONS to run longer.
/// </summary>
public sealed class CorpusReplayTests(ITestOutputHelper output)
{
    public static TheoryData<string> Targets => [.. FuzzTargets.Names];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Committed_corpus_inputs_raise_only_documented_errors(string name)
    {
        var corpus = Corpus(name);
        Assert.True(corpus.Count >= 4, $"corpus/{name} holds {corpus.Count} inputs; the seeds alone are at least 4");
        var target = FuzzTargets.Create(name);
        try
        {
            foreach (var (file, bytes) in corpus)
            {
                if (!FuzzTargets.TryRun(target, bytes, out var finding))
                {
                    throw new XunitException($"{name}: corpus input {file} is a finding: {finding}");
                }
            }
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }

        output.WriteLine($"{name}: {corpus.Count} corpus inputs replayed");
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Seeded_mutations_of_the_corpus_raise_only_documented_errors(string name)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("OMQ_FUZZ_SEED"), out var s) ? s : 20261126;
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("OMQ_FUZZ_ITERATIONS"), out var n) ? n
            : name == SegmentTarget.TargetName ? 400 : 4000; // the segment target does file I/O per input
        output.WriteLine($"{name}: seed {seed} (OMQ_FUZZ_SEED), {iterations} inputs");
        var corpus = Corpus(name).Select(c => c.Bytes).ToList();
        var mutator = new Mutator(seed);
        var target = FuzzTargets.Create(name);
        try
        {
            for (var i = 0; i < iterations; i++)
            {
                var input = i % 10 == 9
                    ? mutator.RandomInput(512)
                    : mutator.Mutate(corpus[mutator.Next(corpus.Count)], corpus[mutator.Next(corpus.Count)]);
                if (!FuzzTargets.TryRun(target, input, out var finding))
                {
                    throw new XunitException(
                        $"{name}: input {i} of seed {seed} is a finding (save it under corpus/{name}/ once fixed): {Convert.ToBase64String(input)}{Environment.NewLine}{finding}");
                }
            }
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    private static List<(string File, byte[] Bytes)> Corpus(string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "corpus", name);
        return Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)))]
            : [];
    }
}
