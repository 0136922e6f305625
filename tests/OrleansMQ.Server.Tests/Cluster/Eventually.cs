namespace OrleansMQ.Tests.Cluster;

/// <summary>Polling with a deadline, for conditions that become true asynchronously (never a fixed sleep).</summary>
public static class Eventually
{
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        T last;
        do
        {
            last = await probe();
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        throw new Xunit.Sdk.XunitException($"Condition not met within the deadline{(because is null ? "" : ": " + because)}. Last value: {last}");
    }

    /// <summary>Reads deliveries until <paramref name="count"/> arrived or the deadline passed.</summary>
    public static async Task<List<Client.Delivery>> TakeAsync(IAsyncEnumerator<Client.Delivery> deliveries, int count, TimeSpan? timeout = null, bool ack = false)
    {
        var result = new List<Client.Delivery>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (result.Count < count)
        {
            var next = deliveries.MoveNextAsync().AsTask();
            var finished = await Task.WhenAny(next, Task.Delay(Timeout.Infinite, cts.Token).ContinueWith(_ => false, TaskScheduler.Default));
            if (finished != next)
            {
                throw new Xunit.Sdk.XunitException($"Only {result.Count} of {count} deliveries arrived within the deadline.");
            }

            if (!await next)
            {
                break;
            }

            result.Add(deliveries.Current);
            if (ack)
            {
                await deliveries.Current.AckAsync();
            }
        }

        return result;
    }
}
