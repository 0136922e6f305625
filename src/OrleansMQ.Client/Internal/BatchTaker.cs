namespace OrleansMQ.Client.Internal;

/// <summary>Cuts the next batch off the front of a send queue, bounded by item count and bytes.</summary>
internal static class BatchTaker
{
    /// <summary>
    /// Removes and returns the longest prefix of <paramref name="queue"/> with at most <paramref name="maxItems"/> items
    /// and <paramref name="maxBytes"/> bytes by <paramref name="sizeOf"/> (at least one item, however large). When the
    /// whole queue fits, the list itself is returned and <paramref name="queue"/> becomes a new empty list.
    /// </summary>
    public static List<T> Take<T>(ref List<T> queue, int maxItems, int maxBytes, Func<T, int> sizeOf)
    {
        var count = 0;
        var bytes = 0;
        while (count < queue.Count && count < maxItems)
        {
            var size = sizeOf(queue[count]);
            if (count > 0 && bytes + size > maxBytes)
            {
                break;
            }

            bytes += size;
            count++;
        }

        if (count == queue.Count)
        {
            var all = queue;
            queue = [];
            return all;
        }

        var batch = queue.GetRange(0, count);
        queue.RemoveRange(0, count);
        return batch;
    }
}
