using Microsoft.Extensions.Time.Testing;
using OrleansMQ.Client.Internal;

namespace OrleansMQ.Tests.Unit;

public sealed class SerialBatcherTests
{
    [Fact]
    public async Task Items_added_while_a_batch_is_in_flight_go_together_in_the_next_batch_in_order()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batches = new List<IReadOnlyList<int>>();
        var batcher = new SerialBatcher<int, int>(async (items, _) =>
        {
            lock (batches)
            {
                batches.Add(items);
            }

            if (batches.Count == 1)
            {
                started.SetResult();
                await release.Task;
            }

            return [.. items.Select(i => i * 10)];
        }, maxItems: 100, maxBytes: int.MaxValue, linger: TimeSpan.Zero);

        var first = batcher.AddAsync(1);
        await started.Task;
        var rest = Enumerable.Range(2, 5).Select(i => batcher.AddAsync(i)).ToList();
        release.SetResult();

        Assert.Equal(10, await first);
        var restResults = await Task.WhenAll(rest);
        Assert.Equal(new[] { 20, 30, 40, 50, 60 }, restResults);
        await batcher.FlushAsync();
        Assert.Equal(2, batches.Count);
        Assert.Equal([1], batches[0]);
        Assert.Equal([2, 3, 4, 5, 6], batches[1]);
    }

    [Fact]
    public async Task Batches_respect_the_item_limit_and_a_failure_fails_only_its_batch()
    {
        var gate = new TaskCompletionSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var batcher = new SerialBatcher<int, int>(async (items, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                started.SetResult();
                await gate.Task;
                throw new InvalidOperationException("first batch fails");
            }

            return [.. items];
        }, maxItems: 2, maxBytes: int.MaxValue, linger: TimeSpan.Zero);

        var failing = batcher.AddAsync(0);
        await started.Task;
        var later = Enumerable.Range(1, 5).Select(i => batcher.AddAsync(i)).ToList();
        gate.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        var laterResults = await Task.WhenAll(later);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, laterResults);
        Assert.Equal(4, calls); // [0], [1,2], [3,4], [5]
    }

    private static (SerialBatcher<int, int> Batcher, List<IReadOnlyList<int>> Batches, FakeTimeProvider Time) Grouping(TimeSpan groupTime)
    {
        var batches = new List<IReadOnlyList<int>>();
        var time = new FakeTimeProvider();
        var batcher = new SerialBatcher<int, int>((items, _) =>
        {
            lock (batches)
            {
                batches.Add(items);
            }

            return Task.FromResult<IReadOnlyList<int>>([.. items]);
        }, maxItems: 100, maxBytes: int.MaxValue, linger: TimeSpan.Zero, groupTime: groupTime, timeProvider: time);
        return (batcher, batches, time);
    }

    [Fact]
    public async Task Unhurried_items_wait_for_the_group_time_and_then_go_together()
    {
        var (batcher, batches, time) = Grouping(TimeSpan.FromMilliseconds(100));
        var waiting = Enumerable.Range(1, 3).Select(i => batcher.AddAsync(i, hurry: false)).ToList();

        // The clock stands still, so nothing can have gone yet; once the group time is up, all three go in one batch.
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(new[] { 1, 2, 3 }, await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([[1, 2, 3]], batches);

        // From idle the window starts again at the first add: items added during it go with it.
        var fourth = batcher.AddAsync(4, hurry: false);
        time.Advance(TimeSpan.FromMilliseconds(60));
        var fifth = batcher.AddAsync(5, hurry: false);
        time.Advance(TimeSpan.FromMilliseconds(40));
        await Task.WhenAll(fourth, fifth).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([[1, 2, 3], [4, 5]], batches);
    }

    [Fact]
    public async Task A_hurried_item_or_a_flush_sends_the_waiting_ones_at_once()
    {
        var (batcher, batches, _) = Grouping(TimeSpan.FromMinutes(1));
        var waiting = batcher.AddAsync(1, hurry: false);
        var hurried = batcher.AddAsync(2);
        Assert.Equal(2, await hurried.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        var more = batcher.AddAsync(3, hurry: false);
        await batcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(more.IsCompletedSuccessfully);
        Assert.Equal([[1, 2], [3]], batches);
    }
}
