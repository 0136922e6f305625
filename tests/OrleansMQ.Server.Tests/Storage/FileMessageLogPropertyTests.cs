using CsCheck;
using OrleansMQ.Server.Storage;
using Xunit.Abstractions;
using static OrleansMQ.Tests.Storage.FileLogTestFiles;

namespace OrleansMQ.Tests.Storage;

/// <summary>
/// Property (CsCheck): any sequence of appends, crashes and recoveries of the file log keeps exactly the acknowledged
/// records. Complements the seeded walk in <see cref="FileMessageLogRecoveryTests"/> with the crash it cannot make
/// through the API: a write that reached the file but was never acknowledged (lost or torn by the crash), and with
/// shrinking to a minimal failing sequence.
/// </summary>
/// <remarks>
/// The seed is fixed (<see cref="Seed"/>) so CI is deterministic; CsCheck prints the seed of a failure, and
/// <c>CsCheck_Seed=&lt;seed&gt;</c> replays it. <c>OMQ_PROPERTY_ITERATIONS</c> runs more sequences.
/// </remarks>
public sealed class FileMessageLogPropertyTests(ITestOutputHelper output)
{
    private const long SegmentBytes = 2048;

    /// <summary>A fixed PCG seed in CsCheck's format.</summary>
    private static readonly string Seed = new PCG(2026, 1126).ToString();

    private enum Kind
    {
        Append,
        CrashDuringUnackedWrite,
        CrashTornAnywhereInActiveSegment,
        Restart,
    }

    private sealed record Step(Kind Kind, int Count, int BodyBytes, double Cut, int Junk)
    {
        public override string ToString() => Kind switch
        {
            Kind.Append => $"append {Count}×{BodyBytes}B",
            Kind.CrashDuringUnackedWrite => $"crash with {Count} unacked records partly written (cut at {Cut:P0}, {Junk} junk bytes)",
            Kind.CrashTornAnywhereInActiveSegment => $"crash, active segment cut at {Cut:P0} ({Junk} junk bytes)",
            _ => "restart",
        };
    }

    private static readonly Gen<Step> StepGen = Gen.Select(
        Gen.Frequency((6, Gen.Const(Kind.Append)), (3, Gen.Const(Kind.CrashDuringUnackedWrite)), (1, Gen.Const(Kind.CrashTornAnywhereInActiveSegment)), (1, Gen.Const(Kind.Restart))),
        Gen.Int[1, 5], Gen.Int[0, 700], Gen.Double[0, 1], Gen.Int[0, 40],
        (kind, count, body, cut, junk) => new Step(kind, count, body, cut, junk));

    [Fact]
    public async Task Any_sequence_of_appends_crashes_and_recoveries_keeps_exactly_the_acknowledged_records()
    {
        var iterations = long.TryParse(Environment.GetEnvironmentVariable("OMQ_PROPERTY_ITERATIONS"), out var n) ? n : 25;
        output.WriteLine($"seed {Environment.GetEnvironmentVariable("CsCheck_Seed") ?? Seed}, {iterations} sequences");
        await StepGen.List[1, 25].SampleAsync(
            RunAsync,
            writeLine: output.WriteLine,
            seed: Environment.GetEnvironmentVariable("CsCheck_Seed") ?? Seed,
            iter: iterations,
            threads: 1,
            print: steps => string.Join("; ", steps));
    }

    private static async Task RunAsync(List<Step> steps)
    {
        using var directory = new TempDirectory();
        var root = directory.Path;
        var model = new List<LogRecord>(); // what the log must hold: model[offset]
        var factory = Factory(root, SegmentBytes, FsyncPolicy.Never);
        var log = await factory.OpenAsync(Topic, 0);
        try
        {
            foreach (var step in steps)
            {
                switch (step.Kind)
                {
                    case Kind.Append:
                        var batch = Enumerable.Range(model.Count, step.Count).Select(i => TestRecords.Create(i, step.BodyBytes)).ToArray();
                        Assert.Equal(model.Count, await log.AppendAsync(batch));
                        model.AddRange(batch); // acknowledged
                        break;
                    case Kind.Restart:
                        await factory.DisposeAsync();
                        break;
                    default:
                        await factory.DisposeAsync();
                        Crash(root, step, model);
                        break;
                }

                if (step.Kind != Kind.Append)
                {
                    factory = Factory(root, SegmentBytes, FsyncPolicy.Never);
                    log = await factory.OpenAsync(Topic, 0);
                }

                Assert.Equal(model.Count, log.HighWatermark);
                var all = await TestRecords.ReadAllAsync(log);
                Assert.Equal(model.Count, all.Count);
                for (var i = 0; i < all.Count; i++)
                {
                    TestRecords.AssertSame(model[i], all[i]);
                }
            }
        }
        finally
        {
            await factory.DisposeAsync();
        }
    }

    // Damages the (closed) log as a crash would and updates the model to what must survive.
    private static void Crash(string root, Step step, List<LogRecord> model)
    {
        var files = SegmentFiles(root);
        var active = Path.Combine(PartitionDirectory(root), files[^1]);
        var baseOffset = long.Parse(files[^1].AsSpan(0, 20), System.Globalization.CultureInfo.InvariantCulture);
        var acknowledgedLength = new FileInfo(active).Length;
        long from;
        var candidates = new List<LogRecord>(); // records whose frames are in the file beyond what survives for sure
        if (step.Kind == Kind.CrashDuringUnackedWrite)
        {
            // The crash hit a write that never returned: its frames reached the file in part. Whole ones may be kept
            // (nobody was told they were durable, and they are intact); a torn one and everything after it must go.
            using (var stream = new FileStream(active, FileMode.Append))
            {
                for (var i = 0; i < step.Count; i++)
                {
                    var record = TestRecords.Create(model.Count + i, step.BodyBytes);
                    var size = LogRecordCodec.GetFrameSize(record);
                    var frame = new byte[size];
                    LogRecordCodec.Write(record, model.Count + i, size, frame);
                    stream.Write(frame);
                    record.Offset = model.Count + i;
                    candidates.Add(record);
                }
            }

            from = acknowledgedLength;
        }
        else
        {
            // The active segment is cut anywhere: records whose frames end within the cut survive.
            from = 0;
            candidates.AddRange(model.Skip((int)baseOffset));
            model.RemoveRange((int)baseOffset, model.Count - (int)baseOffset);
        }

        var length = new FileInfo(active).Length;
        var cut = from + (long)Math.Round(step.Cut * (length - from));
        Truncate(active, cut);
        if (step.Junk > 0)
        {
            using var stream = new FileStream(active, FileMode.Append);
            stream.Write(Enumerable.Range(0, step.Junk).Select(i => (byte)(i * 37 + step.Junk)).ToArray());
        }

        var end = from;
        foreach (var record in candidates)
        {
            end += LogRecordCodec.GetFrameSize(record);
            if (end > cut)
            {
                break;
            }

            model.Add(record);
        }
    }
}
