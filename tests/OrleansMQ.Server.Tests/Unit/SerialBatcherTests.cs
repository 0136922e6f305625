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
        var rest = Enumerable.Range(2, 5).Select(batcher.AddAsync).ToList();
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
        var later = Enumerable.Range(1, 5).Select(batcher.AddAsync).ToList();
        gate.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        var laterResults = await Task.WhenAll(later);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, laterResults);
        Assert.Equal(4, calls); // [0], [1,2], [3,4], [5]
    }
}
