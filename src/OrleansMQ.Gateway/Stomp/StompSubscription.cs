using OrleansMQ.Client;

namespace OrleansMQ.Gateway.Stomp;

/// <summary>
/// One SUBSCRIBE of a connection: the consumer it reads from and the MESSAGE frames sent but not yet settled, keyed by
/// the per-subscription sequence number that the <c>ack</c> header carries.
/// </summary>
internal sealed class StompSubscription(string id, int index, StompDestination destination, StompAckMode mode, IConsumer consumer, string? temporarySubscription)
{
    private readonly SortedDictionary<long, Delivery> _unsettled = [];
    private long _sent;

    /// <summary>The client's <c>id</c> header.</summary>
    public string Id { get; } = id;

    /// <summary>The connection-local number that prefixes this subscription's ack ids.</summary>
    public int Index { get; } = index;

    public StompDestination Destination { get; } = destination;

    public StompAckMode Mode { get; } = mode;

    public IConsumer Consumer { get; } = consumer;

    /// <summary>The subscription created for this SUBSCRIBE alone (deleted on UNSUBSCRIBE/disconnect), or null for a durable or queue subscription.</summary>
    public string? TemporarySubscription { get; } = temporarySubscription;

    public Task Pump { get; set; } = Task.CompletedTask;

    /// <summary>The principal's subscription slot (see <c>GatewayConnectionLimiter</c>), released when the subscription stops.</summary>
    public IDisposable? Slot { get; set; }

    /// <summary>Cancelled on UNSUBSCRIBE or disconnect.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    /// <summary>Registers a delivery about to be sent and returns its ack id (null in auto mode).</summary>
    public string? Register(Delivery delivery)
    {
        var sequence = Interlocked.Increment(ref _sent);
        if (Mode == StompAckMode.Auto)
        {
            return null;
        }

        lock (_unsettled)
        {
            _unsettled[sequence] = delivery;
        }

        return AckId(Index, sequence);
    }

    /// <summary>
    /// Takes the deliveries an ACK/NACK of <paramref name="sequence"/> settles: that one (client-individual) or it and every
    /// earlier unsettled one (client). Empty when they were settled already.
    /// </summary>
    public List<Delivery> Take(long sequence)
    {
        lock (_unsettled)
        {
            var taken = new List<Delivery>();
            if (Mode == StompAckMode.ClientIndividual)
            {
                if (_unsettled.Remove(sequence, out var one))
                {
                    taken.Add(one);
                }

                return taken;
            }

            foreach (var key in _unsettled.Keys.TakeWhile(k => k <= sequence).ToList())
            {
                taken.Add(_unsettled[key]);
                _unsettled.Remove(key);
            }

            return taken;
        }
    }

    /// <summary>True when <paramref name="sequence"/> was handed out (so an ACK for it that finds nothing is a harmless repeat).</summary>
    public bool WasSent(long sequence) => sequence >= 1 && sequence <= Interlocked.Read(ref _sent);

    public static string AckId(int index, long sequence) => FormattableString.Invariant($"{index}.{sequence}");

    public static bool TryParseAckId(string text, out int index, out long sequence)
    {
        index = 0;
        sequence = 0;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && int.TryParse(text.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index)
            && long.TryParse(text.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out sequence);
    }
}
