namespace OrleansMQ.Server.Grains;

/// <summary>
/// Message ids appended to a partition within a time window, with their offsets, oldest first so expiry and the size
/// cap drop from the front.
/// </summary>
internal sealed class DeduplicationWindow(TimeSpan window, int capacity)
{
    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, DateTimeOffset At)> _order = new();

    public TimeSpan Window { get; } = window;

    public bool TryGet(string messageId, DateTimeOffset now, out long offset)
    {
        Expire(now);
        return _offsets.TryGetValue(messageId, out offset);
    }

    public void Add(string messageId, long offset, DateTimeOffset at)
    {
        if (_offsets.TryAdd(messageId, offset))
        {
            _order.Enqueue((messageId, at));
            while (_order.Count > capacity)
            {
                _offsets.Remove(_order.Dequeue().Id);
            }
        }
    }

    private void Expire(DateTimeOffset now)
    {
        while (_order.TryPeek(out var oldest) && now - oldest.At > Window)
        {
            _order.Dequeue();
            _offsets.Remove(oldest.Id);
        }
    }
}
