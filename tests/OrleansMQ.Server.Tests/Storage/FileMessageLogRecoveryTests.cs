using OrleansMQ.Server.Storage;
using Xunit.Sdk;
using static OrleansMQ.Tests.Storage.FileLogTestFiles;

namespace OrleansMQ.Tests.Storage;

/// <summary>Recovery of the file log: torn tails are cut, corruption in sealed segments surfaces, nothing durable is lost.</summary>
public sealed class FileMessageLogRecoveryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Recovery_after_a_cut_at_every_byte_of_the_last_record_keeps_exactly_the_earlier_records()
    {
        const int n = 6;
        var source = Path.Combine(_directory.Path, "source");
        var records = TestRecords.Range(0, n, bodyBytes: 150);
        long lastStart, fullLength;
        await using (var writer = Factory(source))
        {
            await using var log = await writer.OpenAsync(Topic, 0);
            await log.AppendAsync(records[..^1]);
            lastStart = log.SizeBytes;
            await log.AppendAsync(records[^1..]);
            fullLength = log.SizeBytes;
        }

        var original = await File.ReadAllBytesAsync(SegmentPath(source, 0));
        Assert.Equal(fullLength, original.Length);

        var target = Path.Combine(_directory.Path, "target");
        var segment = SegmentPath(target, 0);
        Directory.CreateDirectory(Path.GetDirectoryName(segment)!);
        await using var factory = Factory(target);
        for (var cut = lastStart; cut < fullLength; cut++)
        {
            await File.WriteAllBytesAsync(segment, original[..(int)cut]);
            await WithContext($"cut at byte {cut} (last record spans {lastStart}..{fullLength})", async () =>
            {
                await using var log = await factory.OpenAsync(Topic, 0);

                Assert.Equal(n - 1, log.HighWatermark);
                Assert.Equal(lastStart, new FileInfo(segment).Length);
                var survivors = await TestRecords.ReadAllAsync(log);
                Assert.Equal(n - 1, survivors.Count);
                for (var i = 0; i < survivors.Count; i++)
                {
                    TestRecords.AssertSame(records[i], survivors[i]);
                }

                Assert.Equal(n - 1, await log.AppendAsync([TestRecords.Create(100)]));
                Assert.Equal("msg-00000100", (await log.ReadAsync(n - 1, 10, int.MaxValue)).Single().MessageId);
            });
        }
    }

    [Fact]
    public async Task A_corrupt_record_in_the_active_segment_cuts_the_tail_from_there()
    {
        var frame = TestRecords.FrameSize();
        var source = Path.Combine(_directory.Path, "source");
        await using (var writer = Factory(source))
        {
            await using var log = await writer.OpenAsync(Topic, 0);
            await log.AppendAsync(TestRecords.Range(0, 10));
        }

        var original = await File.ReadAllBytesAsync(SegmentPath(source, 0));
        var target = Path.Combine(_directory.Path, "target");
        var segment = SegmentPath(target, 0);
        Directory.CreateDirectory(Path.GetDirectoryName(segment)!);
        await using var factory = Factory(target);
        var recordStart = 6L * frame;
        // The length field, the CRC, the format byte, the offset, the time stamp, a string, the body's last byte.
        foreach (var at in new long[] { 0, 3, 5, 8, 10, 18, 40, frame - 1 })
        {
            await File.WriteAllBytesAsync(segment, original);
            FlipByte(segment, recordStart + at);
            await WithContext($"flip at byte {at} of record 6", async () =>
            {
                await using var log = await factory.OpenAsync(Topic, 0);

                Assert.Equal(6, log.HighWatermark);
                Assert.Equal(recordStart, new FileInfo(segment).Length);
                Assert.Equal(6, (await TestRecords.ReadAllAsync(log)).Count);
                Assert.Equal(6, await log.AppendAsync([TestRecords.Create(6)]));
            });
        }
    }

    [Fact]
    public async Task A_corrupt_record_in_a_sealed_segment_fails_reads_that_reach_it_and_nothing_else()
    {
        var frame = TestRecords.FrameSize();
        await using (var writer = Factory(_directory.Path, segmentBytes: 5 * frame))
        {
            await using var log = await writer.OpenAsync(Topic, 0);
            await log.AppendAsync(TestRecords.Range(0, 15)); // [0-4] [5-9] [10-14]
        }

        FlipByte(SegmentPath(_directory.Path, 0), 2L * frame + 40);
        await using var factory = Factory(_directory.Path, segmentBytes: 5 * frame);
        await using var reopened = await factory.OpenAsync(Topic, 0);

        Assert.Equal(15, reopened.HighWatermark);
        Assert.Equal(5L * frame, new FileInfo(SegmentPath(_directory.Path, 0)).Length); // sealed segments are never cut
        Assert.Equal([0L, 1], (await reopened.ReadAsync(0, 100, int.MaxValue)).Select(r => r.Offset));
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ReadAsync(2, 100, int.MaxValue));
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ReadAsync(4, 1, int.MaxValue));
        Assert.Equal(10, (await TestRecords.ReadAllAsync(reopened, 5)).Count);
        Assert.Equal(15, await reopened.AppendAsync(TestRecords.Range(15, 1)));

        // Corruption that appears while the log is open is caught by the CRC check on read.
        FlipByte(SegmentPath(_directory.Path, 5), 2L * frame + 100);
        Assert.Equal([5L, 6], (await reopened.ReadAsync(5, 100, int.MaxValue)).Select(r => r.Offset));
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ReadAsync(7, 100, int.MaxValue));

        // Retention can drop the damaged segments.
        Assert.Equal(10, await reopened.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 10 }));
        Assert.Equal(6, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task A_torn_sealed_segment_followed_only_by_an_empty_segment_is_treated_as_the_torn_tail()
    {
        // A roll creates the next file before writing to it, and the writer fsyncs a segment before writing the next, so
        // a crash can leave exactly this: a torn segment and an empty successor.
        var frame = TestRecords.FrameSize();
        await using (var writer = Factory(_directory.Path, segmentBytes: 5 * frame))
        {
            await using var log = await writer.OpenAsync(Topic, 0);
            await log.AppendAsync(TestRecords.Range(0, 7));
        }

        Truncate(SegmentPath(_directory.Path, 5), 0);
        Truncate(SegmentPath(_directory.Path, 0), 3L * frame + 10);
        await using var factory = Factory(_directory.Path, segmentBytes: 5 * frame);
        await using var reopened = await factory.OpenAsync(Topic, 0);

        Assert.Equal(3, reopened.HighWatermark);
        Assert.Equal(["00000000000000000000.log"], SegmentFiles(_directory.Path));
        Assert.Equal(3, await reopened.AppendAsync(TestRecords.Range(3, 4)));
        Assert.Equal(7, (await TestRecords.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task A_missing_middle_segment_surfaces_as_corruption_on_read()
    {
        var frame = TestRecords.FrameSize();
        await using (var writer = Factory(_directory.Path, segmentBytes: 5 * frame))
        {
            await using var log = await writer.OpenAsync(Topic, 0);
            await log.AppendAsync(TestRecords.Range(0, 15));
        }

        File.Delete(SegmentPath(_directory.Path, 5));
        await using var factory = Factory(_directory.Path, segmentBytes: 5 * frame);
        await using var reopened = await factory.OpenAsync(Topic, 0);

        Assert.Equal(5, (await reopened.ReadAsync(0, 100, int.MaxValue)).Count);
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ReadAsync(5, 100, int.MaxValue));
        Assert.Equal(5, (await TestRecords.ReadAllAsync(reopened, 10)).Count);
    }

    [Theory]
    [InlineData(20250101)]
    [InlineData(7)]
    [InlineData(987654321)]
    public async Task Random_appends_restarts_and_torn_tails_never_lose_durable_records_or_invent_any(int seed)
    {
        var random = new Random(seed);
        const long segmentBytes = 4096;
        var model = new List<LogRecord>(); // model[offset]
        long lowWatermark = 0;
        var factory = Factory(_directory.Path, segmentBytes);
        var log = await factory.OpenAsync(Topic, 0);
        var step = 0;
        var action = "";
        try
        {
            for (step = 0; step < 80; step++)
            {
                var dice = random.Next(20);
                if (dice < 12)
                {
                    // One to three appends in flight at once.
                    var appends = new List<(ValueTask<long> Task, int First)>();
                    for (var a = random.Next(1, 4); a > 0; a--)
                    {
                        var batch = Enumerable.Range(model.Count, random.Next(1, 6)).Select(i => TestRecords.Create(i, random.Next(0, 900))).ToArray();
                        appends.Add((log.AppendAsync(batch), model.Count));
                        model.AddRange(batch);
                    }

                    action = $"append {appends.Count}";
                    foreach (var (task, first) in appends)
                    {
                        Assert.Equal(first, await task);
                    }
                }
                else if (dice < 14)
                {
                    action = "restart";
                    await factory.DisposeAsync();
                    factory = Factory(_directory.Path, segmentBytes);
                    log = await factory.OpenAsync(Topic, 0);
                }
                else if (dice < 19)
                {
                    await factory.DisposeAsync();
                    var files = SegmentFiles(_directory.Path);
                    var active = Path.Combine(PartitionDirectory(_directory.Path), files[^1]);
                    var baseOffset = long.Parse(files[^1].AsSpan(0, 20), System.Globalization.CultureInfo.InvariantCulture);
                    var length = new FileInfo(active).Length;
                    var cut = random.NextInt64(0, length + 1);
                    var junk = random.Next(2) == 0 ? 0 : random.Next(1, 64);
                    action = $"crash: cut {files[^1]} at {cut} of {length}, then {junk} junk bytes";
                    Truncate(active, cut);
                    if (junk > 0)
                    {
                        var bytes = new byte[junk];
                        random.NextBytes(bytes);
                        await using var stream = new FileStream(active, FileMode.Append);
                        await stream.WriteAsync(bytes);
                    }

                    // Records of the active segment whose frames end within the cut survive.
                    long end = 0;
                    var survivors = baseOffset;
                    while (survivors < model.Count && end + LogRecordCodec.GetFrameSize(model[(int)survivors]) <= cut)
                    {
                        end += LogRecordCodec.GetFrameSize(model[(int)survivors]);
                        survivors++;
                    }

                    model.RemoveRange((int)survivors, model.Count - (int)survivors);
                    factory = Factory(_directory.Path, segmentBytes);
                    log = await factory.OpenAsync(Topic, 0);
                }
                else
                {
                    var below = random.NextInt64(lowWatermark, model.Count + 1);
                    action = $"retention below {below}";
                    var newLowWatermark = await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = below });
                    Assert.InRange(newLowWatermark, lowWatermark, Math.Max(lowWatermark, below));
                    lowWatermark = newLowWatermark;
                }

                Assert.Equal(model.Count, log.HighWatermark);
                Assert.Equal(lowWatermark, log.LowWatermark);
                var all = await TestRecords.ReadAllAsync(log);
                Assert.Equal(model.Count - lowWatermark, all.Count);
                foreach (var record in all)
                {
                    TestRecords.AssertSame(model[(int)record.Offset], record);
                }
            }
        }
        catch (Exception ex)
        {
            throw new XunitException($"Randomized file log test failed with seed {seed} at step {step} ({action}): {ex.Message}", ex);
        }
        finally
        {
            await factory.DisposeAsync();
        }
    }
}
