using OrleansMQ.Fuzz.Targets;
using SharpFuzz;

namespace OrleansMQ.Fuzz;

/// <summary>
/// The fuzzing entry point (scripts/fuzz.sh runs it under afl-fuzz on SharpFuzz-instrumented assemblies):
/// <c>OrleansMQ.Fuzz &lt;target&gt;</c> reads inputs from afl-fuzz;
/// <c>OrleansMQ.Fuzz &lt;target&gt; --replay &lt;file or folder&gt;...</c> runs saved inputs (a crash to reproduce, a
/// corpus) and exits 1 when any is a finding; <c>OrleansMQ.Fuzz &lt;target&gt; --write-seeds &lt;folder&gt;</c> writes the seed corpus.
/// </summary>
public static class Program
{
    /// <summary>Runs a target.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine($"usage: OrleansMQ.Fuzz <target> [--replay <path>...]; targets: {string.Join(", ", FuzzTargets.Names)}");
            return 2;
        }

        if (args.Length > 1 && args[1] is "--replay" or "--write-seeds")
        {
            var target = FuzzTargets.Create(args[0]);
            try
            {
                return args[1] == "--replay" ? Replay(target, args[2..]) : WriteSeeds(target, args[2]);
            }
            finally
            {
                (target as IDisposable)?.Dispose();
            }
        }

        // Persistent mode: one process runs many inputs. An exception the target does not expect escapes and SharpFuzz
        // reports it to afl-fuzz as a crash. The target is created on the first input: instrumented code (the broker
        // assemblies) must not run before Fuzzer.Run has set up the coverage map.
        var name = args[0];
        IFuzzTarget? fuzzed = null;
        Fuzzer.Run(stream =>
        {
            fuzzed ??= FuzzTargets.Create(name);
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            try
            {
                fuzzed.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            }
            catch (Exception ex) when (fuzzed.IsExpected(ex))
            {
            }
        });
        (fuzzed as IDisposable)?.Dispose();
        return 0;
    }

    private static int WriteSeeds(IFuzzTarget target, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, bytes) in SeedCorpus.For(target.Name))
        {
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }

        return 0;
    }

    private static int Replay(IFuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal).ToList();
        var findings = 0;
        foreach (var file in files)
        {
            if (!FuzzTargets.TryRun(target, File.ReadAllBytes(file), out var finding))
            {
                findings++;
                Console.WriteLine($"FINDING {file}: {finding}");
            }
        }

        Console.WriteLine($"{target.Name}: {files.Count} inputs, {findings} findings");
        return findings == 0 ? 0 : 1;
    }
}
