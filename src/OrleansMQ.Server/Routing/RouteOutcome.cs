using System.Buffers;

namespace OrleansMQ.Server.Routing;

/// <summary>
/// What routing one batch did: the partition batches appended (with the partitions' receipts), the messages no binding
/// matched (and what the alternate exchange answered for them), and the messages refused. It becomes the answer either as
/// receipt objects (<see cref="Receipts"/>, for grains) or packed (<see cref="Pack"/>, for producers) without building the
/// one from the other: a 10-way fan-out of 500 messages has 5,000 deliveries.
/// </summary>
internal sealed class RouteOutcome(
    int count,
    List<(string Topic, List<(int Index, Message Message)> Items, BatchReceipts Receipts)> appended,
    List<int> unroutable,
    RoutedReceipt[]? forwarded,
    OrleansMQException?[] errors)
{
    private readonly int _count = count;
    private readonly List<(string Topic, List<(int Index, Message Message)> Items, BatchReceipts Receipts)> _appended = appended;
    private readonly List<int> _unroutable = unroutable;
    private readonly RoutedReceipt[]? _forwarded = forwarded;
    private readonly OrleansMQException?[] _errors = errors;

    /// <summary>One receipt per message, each with its own delivery array.</summary>
    public RoutedReceipt[] Receipts()
    {
        var index = new DeliveryIndex(this);
        try
        {
            var results = new RoutedReceipt[_count];
            for (var i = 0; i < _count; i++)
            {
                if (_errors[i] is { } error)
                {
                    results[i] = new RoutedReceipt { Deliveries = [], Error = error.Code, ErrorMessage = error.Message };
                    continue;
                }

                var (first, end) = index.Range(i);
                var alternates = index.Forwarded(i);
                var deliveries = new TopicReceipt[end - first + alternates.Count];
                for (var k = first; k < end; k++)
                {
                    var (batch, item) = index.Slot(k);
                    deliveries[k - first] = new TopicReceipt(_appended[batch].Topic, _appended[batch].Receipts[item]);
                }

                for (var k = 0; k < alternates.Count; k++)
                {
                    deliveries[end - first + k] = alternates[k];
                }

                results[i] = new RoutedReceipt { Deliveries = deliveries, Alternate = index.IsAlternate(i) };
            }

            return results;
        }
        finally
        {
            index.Dispose();
        }
    }

    /// <summary>The receipts packed for the wire, written straight from the partitions' answers.</summary>
    public RoutedBatchReceipt Pack()
    {
        var index = new DeliveryIndex(this);
        try
        {
            var writer = new RoutedBatchReceiptWriter(_count, index.Total);
            var topicOf = new int[_appended.Count];
            for (var b = 0; b < _appended.Count; b++)
            {
                topicOf[b] = writer.Topic(_appended[b].Topic);
            }

            for (var i = 0; i < _count; i++)
            {
                if (_errors[i] is { } error)
                {
                    writer.Refused(error.Code, error.Message, alternate: false);
                    continue;
                }

                var (first, end) = index.Range(i);
                var alternates = index.Forwarded(i);
                writer.Routed(end - first + alternates.Count, index.IsAlternate(i));
                for (var k = first; k < end; k++)
                {
                    var (batch, item) = index.Slot(k);
                    writer.Delivery(topicOf[batch], _appended[batch].Receipts[item]);
                }

                foreach (var (topic, receipt) in alternates)
                {
                    writer.Delivery(writer.Topic(topic), receipt);
                }
            }

            return writer.Complete();
        }
        finally
        {
            index.Dispose();
        }
    }

    /// <summary>
    /// Each message's _appended copies in order: the copies of message i are slots <c>starts[i]</c> up to
    /// <c>starts[i + 1]</c>, each naming its partition batch and its position there. Slots live in a pooled array.
    /// </summary>
    private readonly struct DeliveryIndex : IDisposable
    {
        private readonly int[] _starts;
        private readonly long[] _slots;
        private readonly int[] _alternateOf; // position in the unroutable list, or -1
        private readonly RoutedReceipt[]? _forwarded;

        public DeliveryIndex(RouteOutcome outcome)
        {
            var count = outcome._count;
            _starts = new int[count + 1];
            foreach (var (_, items, _) in outcome._appended)
            {
                foreach (var (i, _) in items)
                {
                    _starts[i + 1]++;
                }
            }

            for (var i = 0; i < count; i++)
            {
                _starts[i + 1] += _starts[i];
            }

            _slots = ArrayPool<long>.Shared.Rent(Math.Max(1, _starts[count]));
            var next = new int[count];
            Array.Copy(_starts, next, count);
            for (var b = 0; b < outcome._appended.Count; b++)
            {
                var items = outcome._appended[b].Items;
                for (var j = 0; j < items.Count; j++)
                {
                    _slots[next[items[j].Index]++] = ((long)b << 32) | (uint)j;
                }
            }

            _alternateOf = next; // reused: every entry is overwritten
            Array.Fill(_alternateOf, -1);
            for (var j = 0; j < outcome._unroutable.Count; j++)
            {
                _alternateOf[outcome._unroutable[j]] = j;
            }

            _forwarded = outcome._forwarded;
            Total = _starts[count];
            if (_forwarded is not null)
            {
                foreach (var receipt in _forwarded)
                {
                    Total += receipt.Deliveries.Count;
                }
            }
        }

        /// <summary>All deliveries: appended copies and the alternate exchange's.</summary>
        public int Total { get; }

        public (int First, int End) Range(int message) => (_starts[message], _starts[message + 1]);

        public (int Batch, int Item) Slot(int slot) => ((int)(_slots[slot] >> 32), (int)(uint)_slots[slot]);

        public bool IsAlternate(int message) => _alternateOf[message] >= 0;

        public IReadOnlyList<TopicReceipt> Forwarded(int message) =>
            _forwarded is not null && _alternateOf[message] is var j and >= 0 ? _forwarded[j].Deliveries : [];

        public void Dispose() => ArrayPool<long>.Shared.Return(_slots);
    }
}

/// <summary>
/// What a partition answered for one append: its receipts, or, when it appended the whole batch as new, the first
/// offset (item i is at <paramref name="FirstOffset"/> + i), which saves an array per destination of a fan-out.
/// </summary>
internal readonly record struct BatchReceipts(int Partition, long FirstOffset, PublishReceipt[]? Receipts)
{
    public PublishReceipt this[int item] =>
        Receipts is { } receipts ? receipts[item] : new PublishReceipt(Partition, FirstOffset + item, Duplicate: false);
}
