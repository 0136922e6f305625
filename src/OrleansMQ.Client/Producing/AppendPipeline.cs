using OrleansMQ.Client.Internal;
using OrleansMQ.Grains;

namespace OrleansMQ.Client;

/// <summary>
/// Sends one partition's messages with up to <see cref="ProducerOptions.MaxInFlightBatches"/> batches in flight (Kafka's
/// <c>max.in.flight</c> with idempotence), so a message published while a batch is in flight goes out at once instead
/// of waiting a whole round trip. Order and exactly-once appends rest on the partition's sequence check: a batch that
/// arrives before its predecessor is rejected (<see cref="ErrorCode.OutOfOrderSequence"/>), never appended out of order.
/// </summary>
/// <remarks>
/// When any batch fails, new sends stop until every batch in flight has answered; then the failed batches are resolved
/// one at a time, in sequence order, with the serial rules of the one-in-flight producer: a transient failure is retried
/// with the same producer id and sequences (a duplicate is acknowledged with its first offsets); a batch behind a hole
/// (a predecessor that was definitely not written) is renumbered; an ambiguous failure starts a new producer epoch, and
/// a later batch of the old epoch moves to the new one only once the partition has said it was not written.
/// Without idempotence nothing can detect reordering, so such a producer keeps one batch in flight.
/// </remarks>
internal sealed class AppendPipeline
{
    private readonly Func<AppendRequest, Task<PublishReceipt[]>> _append;
    private readonly Action _onNotFound;
    private readonly ProducerOptions _options;
    private readonly string _baseId;
    private readonly int _maxInFlight;
    private readonly Lock _lock = new();
    private readonly List<Batch> _inFlight = [];
    private readonly Lock _startLock = new();
    private readonly List<Batch> _toStart = [];
    private bool _starting;
    private List<Pending> _queue = [];
    private int _epoch;
    private long _nextSequence;
    private bool _stalled;
    private bool _recovering;
    private bool _lingering;
    private TaskCompletionSource? _idle;

    /// <param name="append">One append call to the partition (no retries).</param>
    /// <param name="onNotFound">Called when the partition says the topic does not exist (to drop cached metadata).</param>
    /// <param name="options">Batch limits, linger, in-flight limit, idempotence and delivery timeout.</param>
    /// <param name="baseId">The producer id; the epoch is appended to it.</param>
    public AppendPipeline(Func<AppendRequest, Task<PublishReceipt[]>> append, Action onNotFound, ProducerOptions options, string baseId)
    {
        _append = append;
        _onNotFound = onNotFound;
        _options = options;
        _baseId = baseId;
        _maxInFlight = options.Idempotent ? options.MaxInFlightBatches : 1;
    }

    public Task<PublishReceipt> AddAsync(Message message)
    {
        var pending = new Pending(message, new TaskCompletionSource<PublishReceipt>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_lock)
        {
            if (_queue.Count == 0 && _inFlight.Count == 0 && !_lingering)
            {
                // An idle partition waits a little so a burst can gather (later batches form while others are in flight):
                // the linger, or without one until a thread-pool thread sends the batch (as a producer's sender thread would).
                _lingering = true;
                if (_options.Linger > TimeSpan.Zero)
                {
                    _ = EndLingerAsync();
                }
                else
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static pipeline => pipeline.EndLinger(), this, preferLocal: false);
                }
            }

            _queue.Add(pending);
            start = TakeSendable();
        }

        Start(start);
        return pending.Completion.Task;
    }

    /// <summary>
    /// True while an idle partition's first batch is being gathered (<see cref="ProducerOptions.Linger"/>, or until a
    /// thread-pool thread sends it) and has room: the producer keeps sending unkeyed messages here until it leaves (the
    /// sticky partitioner). Without a linger at most <see cref="MaxStickyMessages"/> join: under full load the thread
    /// pool may take a while to send it, and the whole load sticking to one partition meanwhile would starve the others.
    /// </summary>
    public bool Gathering
    {
        get
        {
            lock (_lock)
            {
                return _lingering && _queue.Count < Math.Min(_options.MaxBatchMessages, _options.Linger > TimeSpan.Zero ? int.MaxValue : MaxStickyMessages);
            }
        }
    }

    /// <summary>Without a linger, most unkeyed messages that stick to a gathering partition (a burst, not the whole load).</summary>
    internal const int MaxStickyMessages = 64;

    /// <summary>Completes when everything added so far was sent and answered (successfully or not).</summary>
    public Task FlushAsync()
    {
        lock (_lock)
        {
            if (_queue.Count == 0 && _inFlight.Count == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private async Task EndLingerAsync()
    {
        await Task.Delay(_options.Linger).ConfigureAwait(false);
        EndLinger();
    }

    private void EndLinger()
    {
        bool start;
        lock (_lock)
        {
            _lingering = false;
            start = TakeSendable();
        }

        Start(start);
    }

    // Under the lock: queues the batches that may go out now, with their sequences assigned in send order (the start
    // queue is filled under the same lock, so it is in sequence order too). True when the caller must call Start.
    private bool TakeSendable()
    {
        var any = false;
        while (!_stalled && _inFlight.Count < _maxInFlight && _queue.Count > 0 && (!_lingering || _queue.Count >= _options.MaxBatchMessages)
            && _queue.Count >= ExtraBatchThreshold())
        {
            var batch = new Batch(Take(), _epoch, _nextSequence, DateTime.UtcNow + _options.DeliveryTimeout);
            _nextSequence += batch.Items.Count;
            _inFlight.Add(batch);
            lock (_startLock)
            {
                _toStart.Add(batch);
            }

            any = true;
        }

        return any;
    }

    // With nothing in flight a batch goes at once. Beside batches in flight, one goes only when it would be no smaller
    // than their average: otherwise, under load, every freed slot is taken by a one-message batch, and the calls (not
    // the bytes) eat the CPU: measured on 2 cores, max-rate publishing fell from ~150-190k to ~70k msg/s with one
    // message per append. At low rates (batches of one or two) this still sends each message at once.
    private int ExtraBatchThreshold()
    {
        if (_inFlight.Count == 0)
        {
            return 1;
        }

        var messages = 0;
        foreach (var batch in _inFlight)
        {
            messages += batch.Items.Count;
        }

        return Math.Clamp(messages / _inFlight.Count, 1, _options.MaxBatchMessages);
    }

    // Batches must leave in sequence order, or the partition refuses the overtaking ones: whoever finds the starter
    // idle starts every queued batch, in order, while other threads only queue theirs.
    private void Start(bool any)
    {
        if (!any)
        {
            return;
        }

        lock (_startLock)
        {
            if (_starting)
            {
                return;
            }

            _starting = true;
        }

        while (true)
        {
            Batch[] next;
            lock (_startLock)
            {
                if (_toStart.Count == 0)
                {
                    _starting = false;
                    return;
                }

                next = [.. _toStart];
                _toStart.Clear();
            }

            foreach (var batch in next)
            {
                _ = SendFirstAsync(batch);
            }
        }
    }

    private async Task SendFirstAsync(Batch batch)
    {
        var (receipts, error) = await TrySendAsync(batch).ConfigureAwait(false);
        var start = false;
        List<Batch>? recover = null;
        lock (_lock)
        {
            batch.Answered = true;
            if (error is null)
            {
                Complete(batch, receipts!);
                _inFlight.Remove(batch);
            }
            else
            {
                batch.Error = error;
                _stalled = true;
            }

            if (_stalled)
            {
                if (!_recovering && _inFlight.TrueForAll(b => b.Answered))
                {
                    // Everything in flight has answered; resolve the failures in order, one at a time.
                    _recovering = true;
                    recover = [.. _inFlight];
                }
            }
            else
            {
                start = TakeSendable();
                SignalIdleIfDone();
            }
        }

        Start(start);
        if (recover is not null)
        {
            await RecoverAsync(recover).ConfigureAwait(false);
        }
    }

    private async Task RecoverAsync(List<Batch> failed)
    {
        // renumber: a hole or a new epoch lies before the remaining batches, so those known not to be written move to
        // `next` (all answered, nothing else is in flight: the sequence state is ours alone here).
        var renumber = false;
        long next = 0;
        foreach (var batch in failed)
        {
            var error = batch.Error;
            var attempt = 0;
            while (true)
            {
                if (error is null)
                {
                    if (renumber && batch.Epoch == _epoch)
                    {
                        next = batch.FirstSequence + batch.Items.Count;
                    }

                    break;
                }

                if (error is OrleansMQException { Code: ErrorCode.NotFound })
                {
                    _onNotFound();
                    Hole(batch);
                    break;
                }

                if (error is OrleansMQException { Code: ErrorCode.StorageFull })
                {
                    // Not retried (the caller decides when space is back), and the outcome is unknown: a failed group
                    // write can leave whole records on disk. Never reuse these sequence numbers for other messages.
                    NewEpoch(batch);
                    break;
                }

                if (error is OrleansMQException { Code: ErrorCode.OutOfOrderSequence })
                {
                    // Definitely not written. Sent again where it belongs; a second refusal in place means the
                    // partition lost this producer's state: give up on these sequences.
                    if (batch.Epoch != _epoch || (renumber && !batch.Renumbered))
                    {
                        MoveTo(batch, next);
                    }
                    else if (attempt > 0)
                    {
                        NewEpoch(batch);
                        break;
                    }
                }
                else if (Transient.IsTransient(error) && _options.Idempotent && DateTime.UtcNow < batch.Deadline)
                {
                    // Same producer id and sequences: if the first try was written, the retry is acknowledged as a duplicate.
                    // Behind a hole in the same epoch it cannot have been written, so it moves down.
                    if (renumber && batch.Epoch == _epoch && !batch.Renumbered)
                    {
                        MoveTo(batch, next);
                    }

                    await Task.Delay(Transient.Backoff(attempt)).ConfigureAwait(false);
                }
                else if (Transient.IsTransient(error) || error is OperationCanceledException)
                {
                    // Unknown outcome: never reuse these sequence numbers for other messages.
                    NewEpoch(batch);
                    break;
                }
                else
                {
                    // Refused before anything was written (backlog full, invalid message, ...).
                    Hole(batch);
                    break;
                }

                attempt++;
                OrleansMQTelemetry.ProducerResends.Add(1, new KeyValuePair<string, object?>("reason",
                    error is OrleansMQException { Code: ErrorCode.OutOfOrderSequence } ? "out_of_order" : "transient"));
                PublishReceipt[]? receipts;
                (receipts, error) = await TrySendAsync(batch).ConfigureAwait(false);
                if (error is null)
                {
                    lock (_lock)
                    {
                        Complete(batch, receipts!);
                    }
                }
            }

            if (error is not null)
            {
                foreach (var p in batch.Items)
                {
                    p.Completion.TrySetException(error);
                }
            }
        }

        bool start;
        lock (_lock)
        {
            if (renumber)
            {
                _nextSequence = next;
            }

            _inFlight.Clear();
            _stalled = false;
            _recovering = false;
            start = TakeSendable();
            SignalIdleIfDone();
        }

        Start(start);

        void Hole(Batch batch)
        {
            // Its sequences were not consumed; later batches of this epoch must not leave a gap.
            if (batch.Epoch == _epoch && !renumber)
            {
                renumber = true;
                next = batch.FirstSequence;
            }
        }

        void NewEpoch(Batch batch)
        {
            if (batch.Epoch == _epoch)
            {
                _epoch++;
                renumber = true;
                next = 0;
            }
        }

        void MoveTo(Batch batch, long sequence)
        {
            batch.Epoch = _epoch;
            batch.FirstSequence = sequence;
            batch.Renumbered = true;
        }
    }

    private async Task<(PublishReceipt[]? Receipts, Exception? Error)> TrySendAsync(Batch batch)
    {
        var request = new AppendRequest
        {
            Messages = batch.Messages,
            ProducerId = _options.Idempotent ? $"{_baseId}.{batch.Epoch}" : null,
            FirstSequence = _options.Idempotent ? batch.FirstSequence : 0,
        };
        try
        {
            batch.Sent = true;
            var receipts = await _append(request).ConfigureAwait(false);
            return receipts.Length == batch.Items.Count
                ? (receipts, null)
                : (null, new OrleansMQException(ErrorCode.Internal, $"The partition answered {receipts.Length} receipts for {batch.Items.Count} messages."));
        }
        catch (Exception ex)
        {
            return (null, ex);
        }
    }

    private static void Complete(Batch batch, PublishReceipt[] receipts)
    {
        for (var i = 0; i < batch.Items.Count; i++)
        {
            batch.Items[i].Completion.TrySetResult(receipts[i]);
        }
    }

    private void SignalIdleIfDone()
    {
        if (_queue.Count == 0 && _inFlight.Count == 0 && _idle is { } idle)
        {
            _idle = null;
            idle.TrySetResult();
        }
    }

    /// <summary>The pipeline's state in one line, for diagnostics (a publish that takes long: where is it?).</summary>
    public string Describe()
    {
        lock (_lock)
        {
            var text = new System.Text.StringBuilder();
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"queued {_queue.Count}, epoch {_epoch}, next sequence {_nextSequence}");
            foreach (var batch in _inFlight)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"; batch {batch.Epoch}/{batch.FirstSequence} x{batch.Items.Count} {(batch.Answered ? "answered" : batch.Sent ? "sent" : "not sent")} {System.Diagnostics.Stopwatch.GetElapsedTime(batch.Created).TotalSeconds:0.0} s ago");
                if (batch.Error is { } error)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $" ({error.GetType().Name}: {error.Message})");
                }
            }

            if (_stalled || _recovering || _lingering)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"; stalled {_stalled}, recovering {_recovering}, lingering {_lingering}");
            }

            lock (_startLock)
            {
                if (_starting || _toStart.Count > 0)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $"; starter busy {_starting}, {_toStart.Count} to start");
                }
            }

            return text.ToString();
        }
    }

    private List<Pending> Take() =>
        BatchTaker.Take(ref _queue, _options.MaxBatchMessages, _options.MaxBatchBytes, p => MessageLimits.SizeOf(p.Message));

    private sealed record Pending(Message Message, TaskCompletionSource<PublishReceipt> Completion);

    private sealed class Batch(List<Pending> items, int epoch, long firstSequence, DateTime deadline)
    {
        public List<Pending> Items { get; } = items;

        public IReadOnlyList<Message> Messages { get; } = items.ConvertAll(p => p.Message);

        public int Epoch { get; set; } = epoch;

        public long FirstSequence { get; set; } = firstSequence;

        public DateTime Deadline { get; } = deadline;

        public long Created { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

        public bool Sent { get; set; }

        public bool Answered { get; set; }

        public bool Renumbered { get; set; }

        public Exception? Error { get; set; }
    }
}
