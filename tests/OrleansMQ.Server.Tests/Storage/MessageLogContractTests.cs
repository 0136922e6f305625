using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

/// <summary>The <see cref="IMessageLog"/> contract, run against every backend.</summary>
public abstract class MessageLogContractTests : IAsyncLifetime
{
    private const int RecordsPerSegment = 5;
    private readonly List<IMessageLogFactory> _factories = [];
    private int _topics;

    /// <summary>Creates a factory whose segments roll after <paramref name="segmentBytes"/>.</summary>
    protected abstract IMessageLogFactory CreateFactory(long segmentBytes);

    /// <summary>
    /// Simulates a restart: returns a factory that sees what <paramref name="factory"/> stored (a new instance over the same
    /// storage where the backend allows it, after the old one was disposed).
    /// </summary>
    protected abstract ValueTask<IMessageLogFactory> RestartAsync(IMessageLogFactory factory, long segmentBytes);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            if (factory is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    // Five test records fill a segment exactly.
    private static long SegmentBytes => RecordsPerSegment * TestRecords.FrameSize();

    private IMessageLogFactory NewFactory(long? segmentBytes = null) => Track(CreateFactory(segmentBytes ?? SegmentBytes));

    private IMessageLogFactory Track(IMessageLogFactory factory)
    {
        if (!_factories.Contains(factory))
        {
            _factories.Add(factory);
        }

        return factory;
    }

    private string NewTopic() => $"topic-{Interlocked.Increment(ref _topics)}";

    private async Task<IMessageLog> OpenAsync(IMessageLogFactory factory, string? topic = null) => await factory.OpenAsync(topic ?? NewTopic(), 3);

    [Fact]
    public async Task Appended_records_read_back_with_every_field()
    {
        await using var log = await OpenAsync(NewFactory());
        var records = new[]
        {
            TestRecords.Create(0),
            new LogRecord
            {
                Timestamp = new DateTimeOffset(2024, 2, 29, 23, 59, 59, 999, TimeSpan.FromHours(5.5)).AddTicks(1234),
                Key = "clé-ключ-鍵",
                MessageId = "",
                Headers = new Dictionary<string, string> { [""] = "", ["x-ü"] = new string('v', 5000) },
                Body = Array.Empty<byte>(),
                Sequence = long.MaxValue,
            },
            new LogRecord { Offset = 999, Body = new byte[] { 1, 2, 3 } },
        };

        var first = await log.AppendAsync(records);

        Assert.Equal(0, first);
        Assert.Equal([0L, 1, 2], records.Select(r => r.Offset));
        var read = await log.ReadAsync(0, 10, 1 << 20);
        Assert.Equal(3, read.Count);
        for (var i = 0; i < records.Length; i++)
        {
            TestRecords.AssertSame(records[i], read[i]);
        }
    }

    [Fact]
    public async Task Offsets_are_dense_across_appends()
    {
        await using var log = await OpenAsync(NewFactory());

        Assert.Equal(0, await log.AppendAsync(TestRecords.Range(0, 3)));
        Assert.Equal(3, await log.AppendAsync(TestRecords.Range(3, 1)));
        Assert.Equal(4, await log.AppendAsync(TestRecords.Range(4, 12)));
        Assert.Equal(16, await log.AppendAsync([]));

        Assert.Equal(0, log.LowWatermark);
        Assert.Equal(16, log.HighWatermark);
        var all = await TestRecords.ReadAllAsync(log);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"msg-{i:D8}"), all.Select(r => r.MessageId));
    }

    [Fact]
    public async Task Concurrent_appends_get_offsets_in_call_order_and_stay_dense()
    {
        await using var log = await OpenAsync(NewFactory());
        var pending = new List<(ValueTask<long> Append, int First, int Count)>();
        var next = 0;
        for (var call = 0; call < 32; call++)
        {
            var count = 1 + call % 4;
            pending.Add((log.AppendAsync(TestRecords.Range(next, count)), next, count));
            next += count;
        }

        foreach (var (append, first, count) in pending)
        {
            Assert.Equal(first, await append);
            Assert.True(log.HighWatermark >= first + count, "the high watermark covers a completed append");
        }

        var all = await TestRecords.ReadAllAsync(log);
        Assert.Equal(next, all.Count);
        for (var i = 0; i < all.Count; i++)
        {
            Assert.Equal(i, all[i].Offset);
            Assert.Equal($"msg-{i:D8}", all[i].MessageId);
        }
    }

    [Fact]
    public async Task Reads_stop_at_the_high_watermark()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 7));

        Assert.Equal(7, (await log.ReadAsync(0, 1000, int.MaxValue)).Count);
        Assert.Equal([5L, 6], (await log.ReadAsync(5, 1000, int.MaxValue)).Select(r => r.Offset));
        Assert.Empty(await log.ReadAsync(7, 1000, int.MaxValue));
        Assert.Empty(await log.ReadAsync(1000, 1000, int.MaxValue));
    }

    [Fact]
    public async Task Reads_honour_max_records_and_max_bytes_but_return_at_least_one_record()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 20));
        var frame = TestRecords.FrameSize();

        Assert.Equal([2L, 3, 4], (await log.ReadAsync(2, 3, int.MaxValue)).Select(r => r.Offset));
        Assert.Equal([2L], (await log.ReadAsync(2, 100, 1)).Select(r => r.Offset));
        Assert.Equal([2L], (await log.ReadAsync(2, 100, 0)).Select(r => r.Offset));
        Assert.Equal(4, (await log.ReadAsync(2, 100, 4 * frame)).Count);
        Assert.Equal(4, (await log.ReadAsync(2, 100, 5 * frame - 1)).Count);
        Assert.Equal(12, (await log.ReadAsync(2, 12, 100 * frame)).Count); // spans segments
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.ReadAsync(0, 0, 100));
    }

    [Fact]
    public async Task FindOffset_returns_the_first_record_at_or_after_the_time()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 23));
        var t = TestRecords.BaseTime;

        Assert.Equal(0, await log.FindOffsetAsync(t.AddDays(-1)));
        Assert.Equal(0, await log.FindOffsetAsync(t));
        Assert.Equal(12, await log.FindOffsetAsync(t.AddMinutes(12)));
        Assert.Equal(13, await log.FindOffsetAsync(t.AddMinutes(12).AddSeconds(1)));
        Assert.Equal(22, await log.FindOffsetAsync(t.AddMinutes(22)));
        Assert.Equal(23, await log.FindOffsetAsync(t.AddMinutes(22).AddTicks(1)));
    }

    [Fact]
    public async Task FindOffset_handles_time_stamps_out_of_order()
    {
        await using var log = await OpenAsync(NewFactory());
        var t = TestRecords.BaseTime;
        int[] minutes = [10, 5, 20, 15, 1, 2, 3, 4, 30, 25, 6];
        await log.AppendAsync(minutes.Select((m, i) => TestRecords.Create(i, timestamp: t.AddMinutes(m))).ToArray());

        Assert.Equal(0, await log.FindOffsetAsync(t.AddMinutes(7)));
        Assert.Equal(2, await log.FindOffsetAsync(t.AddMinutes(12)));
        Assert.Equal(8, await log.FindOffsetAsync(t.AddMinutes(21)));
        Assert.Equal(11, await log.FindOffsetAsync(t.AddMinutes(31)));
    }

    [Fact]
    public async Task EstimateBytesFrom_measures_the_tail()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 23));
        var frame = TestRecords.FrameSize();

        Assert.Equal(23L * frame, log.SizeBytes);
        Assert.Equal(log.SizeBytes, log.EstimateBytesFrom(0));
        Assert.Equal(log.SizeBytes, log.EstimateBytesFrom(-5));
        Assert.Equal(0, log.EstimateBytesFrom(23));
        Assert.Equal(0, log.EstimateBytesFrom(500));
        for (var offset = 0; offset < 23; offset++)
        {
            // Backends may round to an index entry (at most one interval, here under two frames).
            Assert.InRange(log.EstimateBytesFrom(offset), (23L - offset) * frame, (23L - offset + 2) * frame);
        }
    }

    [Fact]
    public async Task Retention_below_an_offset_deletes_whole_segments_only()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 23)); // segments [0-4] [5-9] [10-14] [15-19] [20-22]

        Assert.Equal(0, await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 4 }));
        Assert.Equal(10, await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 12 }));

        Assert.Equal(10, log.LowWatermark);
        Assert.Equal(23, log.HighWatermark);
        Assert.Equal(13L * TestRecords.FrameSize(), log.SizeBytes);
        Assert.Equal(10, (await log.ReadAsync(0, 1, int.MaxValue))[0].Offset);
        Assert.Equal(Enumerable.Range(10, 13).Select(i => (long)i), (await TestRecords.ReadAllAsync(log)).Select(r => r.Offset));
        Assert.Equal(10, await log.FindOffsetAsync(DateTimeOffset.MinValue));
    }

    [Fact]
    public async Task Retention_never_deletes_the_active_segment()
    {
        var factory = NewFactory();
        await using var log = await OpenAsync(factory);
        await log.AppendAsync(TestRecords.Range(0, 23));

        Assert.Equal(20, await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = long.MaxValue }));
        Assert.Equal(20, await log.ApplyRetentionAsync(new RetentionRequest { MaxBytes = 0, DeleteOlderThan = DateTimeOffset.MaxValue }));
        Assert.Equal(3, (await TestRecords.ReadAllAsync(log)).Count);

        await using var single = await OpenAsync(factory);
        await single.AppendAsync(TestRecords.Range(0, 3));
        Assert.Equal(0, await single.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = long.MaxValue }));
    }

    [Fact]
    public async Task Retention_by_age_deletes_segments_whose_records_are_all_older()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 23));

        // Segment [10-14] holds records older and newer than minute 12, so it stays.
        var lowWatermark = await log.ApplyRetentionAsync(new RetentionRequest { DeleteOlderThan = TestRecords.BaseTime.AddMinutes(12) });

        Assert.Equal(10, lowWatermark);
        Assert.Equal(10, await log.ApplyRetentionAsync(new RetentionRequest { DeleteOlderThan = TestRecords.BaseTime.AddMinutes(14) }));
        Assert.Equal(15, await log.ApplyRetentionAsync(new RetentionRequest { DeleteOlderThan = TestRecords.BaseTime.AddMinutes(14).AddTicks(1) }));
    }

    [Fact]
    public async Task Retention_by_size_deletes_the_oldest_segments_until_the_log_fits()
    {
        await using var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 23));
        var frame = TestRecords.FrameSize();

        // 23 frames → 18 → 13 → 8: three segments go.
        var lowWatermark = await log.ApplyRetentionAsync(new RetentionRequest { MaxBytes = 12L * frame });

        Assert.Equal(15, lowWatermark);
        Assert.Equal(8L * frame, log.SizeBytes);
        Assert.Equal(8, (await TestRecords.ReadAllAsync(log)).Count);
    }

    [Fact]
    public async Task Reopening_keeps_every_record_and_continues_the_offsets()
    {
        var factory = NewFactory();
        var topic = NewTopic();
        var log = await OpenAsync(factory, topic);
        var records = TestRecords.Range(0, 23);
        await log.AppendAsync(records[..11]);
        await log.AppendAsync(records[11..]);
        await log.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = 5 });
        var size = log.SizeBytes;
        await log.DisposeAsync();

        factory = Track(await RestartAsync(factory, SegmentBytes));
        await using var reopened = await OpenAsync(factory, topic);

        Assert.Equal(5, reopened.LowWatermark);
        Assert.Equal(23, reopened.HighWatermark);
        Assert.Equal(size, reopened.SizeBytes);
        var all = await TestRecords.ReadAllAsync(reopened);
        Assert.Equal(18, all.Count);
        for (var i = 0; i < all.Count; i++)
        {
            TestRecords.AssertSame(records[i + 5], all[i]);
        }

        Assert.Equal(23, await reopened.AppendAsync(TestRecords.Range(23, 2)));
        Assert.Equal(25, reopened.HighWatermark);
        Assert.Equal(13, await reopened.FindOffsetAsync(TestRecords.BaseTime.AddMinutes(13)));
    }

    [Fact]
    public async Task Opening_a_partition_again_supersedes_the_older_instance()
    {
        var factory = NewFactory();
        var topic = NewTopic();
        var first = await OpenAsync(factory, topic);
        await first.AppendAsync(TestRecords.Range(0, 3));

        await using var second = await OpenAsync(factory, topic);

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await first.AppendAsync(TestRecords.Range(3, 1)));
        Assert.Equal(3, second.HighWatermark);
        Assert.Equal(3, await second.AppendAsync(TestRecords.Range(3, 1)));
        await first.DisposeAsync();
        Assert.Equal(4, (await TestRecords.ReadAllAsync(second)).Count);
    }

    [Fact]
    public async Task Partitions_and_topics_are_independent()
    {
        var factory = NewFactory();
        await using var a = await factory.OpenAsync("shared", 0);
        await using var b = await factory.OpenAsync("shared", 1);
        await using var c = await factory.OpenAsync("other", 0);

        await a.AppendAsync(TestRecords.Range(0, 3));
        await b.AppendAsync(TestRecords.Range(0, 1));

        Assert.Equal([3L, 1, 0], new[] { a.HighWatermark, b.HighWatermark, c.HighWatermark });
    }

    [Fact]
    public async Task Deleting_a_log_removes_its_data()
    {
        var factory = NewFactory();
        var topic = NewTopic();
        var log = await OpenAsync(factory, topic);
        await log.AppendAsync(TestRecords.Range(0, 12));

        await log.DeleteAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await log.ReadAsync(0, 1, 1));
        await using var reopened = await OpenAsync(factory, topic);
        Assert.Equal(0, reopened.HighWatermark);
        Assert.Equal(0, reopened.SizeBytes);
        Assert.Empty(await reopened.ReadAsync(0, 10, 1000));
    }

    [Fact]
    public async Task A_disposed_log_refuses_use()
    {
        var log = await OpenAsync(NewFactory());
        await log.AppendAsync(TestRecords.Range(0, 1));
        await log.DisposeAsync();
        await log.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await log.AppendAsync(TestRecords.Range(1, 1)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await log.ReadAsync(0, 1, 1));
    }

    [Fact]
    public async Task Invalid_topic_names_are_rejected()
    {
        var factory = NewFactory();

        var ex = await Assert.ThrowsAsync<OrleansMQException>(async () => await factory.OpenAsync("../escape", 0));
        Assert.Equal(ErrorCode.InvalidName, ex.Code);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await factory.OpenAsync("fine", -1));
    }
}

public sealed class InMemoryMessageLogContractTests : MessageLogContractTests
{
    protected override IMessageLogFactory CreateFactory(long segmentBytes) => new InMemoryMessageLogFactory(segmentBytes);

    protected override ValueTask<IMessageLogFactory> RestartAsync(IMessageLogFactory factory, long segmentBytes) => ValueTask.FromResult(factory);
}
