using System.Buffers.Binary;
using System.Diagnostics;
using HdrHistogram;
using OrleansMQ.Benchmarks.Harness;
using OrleansMQ.Client;

namespace OrleansMQ.Benchmarks.Scenarios;

/// <summary>
/// End-to-end latency at a fixed rate. A paced producer publishes message i at its scheduled time start + i/R and writes
/// that time into the body; the consumer records receive time − scheduled time. Measuring from the schedule, not from
/// the actual send, keeps stalls of the sender itself in the figures (no coordinated omission). Messages scheduled in
/// the measured window count, however late they arrive (the run waits for them after the window).
/// </summary>
internal sealed class LatencyScenario
{
    private const string Topic = "bench-latency";
    private const string SubscriptionName = "bench";
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);

    private readonly BenchmarkSettings _settings;
    private readonly HistogramBase _endToEnd = Latency.NewConcurrentHistogram();
    private readonly HistogramBase _publishAck = Latency.NewConcurrentHistogram();
    private readonly HistogramBase _sendLag = Latency.NewConcurrentHistogram();
    private readonly Recorder _progress = Latency.NewRecorder();
    private readonly byte[] _seen;
    private MeasurementClock _clock = null!;
    private long _sentInWindow;
    private long _sentTotal;
    private long _receivedInWindow;
    private long _receivedTotal;
    private long _duplicates;
    private long _publishFailed;
    private long _ackFailed;
    private Exception? _firstError;

    private LatencyScenario(BenchmarkSettings settings)
    {
        _settings = settings;
        _seen = new byte[(int)Math.Ceiling(settings.Rate * (settings.Warmup + settings.Duration).TotalSeconds) + 1];
    }

    public static async Task<int> RunAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        settings.Validate();
        return await new LatencyScenario(settings).RunCoreAsync(cancellationToken);
    }

    private readonly ProducerResendCounter _resends = new();

    private async Task<int> RunCoreAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        Console.WriteLine($"latency: starting {BrokerUnderTest.DescribeSilos(s)} and a client ({BrokerUnderTest.DescribeStorage(s)}) ...");
        await using var broker = await BrokerUnderTest.StartAsync(s, cancellationToken);
        RunReport.Configuration("latency", s, broker)
            .Add("producer", $"1 paced producer at {s.Rate:N0} msg/s (Stopwatch schedule; sleeps ~1 ms between bursts, which the figures include)")
            .Add("consumer", $"1 consumer on a {s.Subscription} subscription, prefetch (credit) {s.Prefetch}, acks every delivery ({(s.Ack == AckOption.Grouped ? $"Delivery.Ack: grouped, group time {s.AckGroupTime.TotalMilliseconds:0.#} ms, not confirmed" : "Delivery.AckAsync: confirmed, not awaited inline")})")
            .Print(Console.Out);

        await broker.Client.Admin.CreateTopicAsync(Topic, new TopicSpec { Partitions = s.Partitions }, cancellationToken);
        var type = s.Subscription == SubscriptionOption.Exclusive ? SubscriptionType.Exclusive : SubscriptionType.Shared;
        await broker.Client.Admin.CreateSubscriptionAsync(Topic, SubscriptionName, new SubscriptionSpec { Type = type, Start = StartPosition.Latest }, cancellationToken);
        await using var producer = broker.Client.CreateProducer(Topic, new ProducerOptions { Linger = s.Linger, MaxBatchMessages = s.MaxBatchMessages, MaxInFlightBatches = s.MaxInFlightBatches });
        var consumer = broker.Client.CreateConsumer(Topic, SubscriptionName, new ConsumerOptions { Prefetch = s.Prefetch, AckGroupTime = s.AckGroupTime });

        using var counters = new WindowCounters(broker);
        using var stopConsuming = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consuming = Task.Run(() => ConsumeAsync(consumer, stopConsuming.Token), cancellationToken);
        Console.WriteLine();
        Console.WriteLine("progress (deliveries per interval; scheduled→received latency of the deliveries in it):");

        _clock = new MeasurementClock(s.Warmup, s.Duration);
        var pacer = new Thread(() => Pace(producer, cancellationToken)) { IsBackground = true, Name = "omq-bench pacer" };
        pacer.Start();
        await _clock.RunAsync(
            onBegin: counters.Begin,
            onEnd: counters.End,
            onTick: (elapsed, measuring, interval) =>
            {
                var h = _progress.GetIntervalHistogram();
                Console.WriteLine($"  {elapsed,5:0.0} s {(measuring ? "measure" : "warm-up"),-8} {ResultTable.Rate(h.TotalCount / interval),10}  {Latency.Summary(h)}");
            },
            cancellationToken);
        pacer.Join();

        // Wait for every message scheduled in the window (late ones count with their full latency).
        var drainStart = Stopwatch.GetTimestamp();
        while (Interlocked.Read(ref _receivedInWindow) < Interlocked.Read(ref _sentInWindow) && Stopwatch.GetElapsedTime(drainStart) < DrainTimeout && !consuming.IsCompleted)
        {
            await Task.Delay(20, cancellationToken);
        }

        await stopConsuming.CancelAsync();
        await consuming;
        await consumer.DisposeAsync();

        var seconds = _clock.Window.TotalSeconds;
        var missing = _sentInWindow - _receivedInWindow;
        var results = new ResultTable($"latency: results ({BrokerUnderTest.DescribeStorage(s)}, {BrokerUnderTest.DescribeSilos(s)}, {s.Partitions} partitions, {s.Subscription}, {s.Rate:N0} msg/s target, {s.MessageSize} B)")
            .Add("end-to-end latency (scheduled → received)", Latency.Summary(_endToEnd))
            .Add("end-to-end latency mean", Latency.MeanMs(_endToEnd) + " ms")
            .Add("publish → ack latency (scheduled → acked)", Latency.Summary(_publishAck))
            .Add("target rate", ResultTable.Rate(s.Rate))
            .Add("achieved send rate", ResultTable.Rate(_sentInWindow / seconds))
            .Add("pacer lag (PublishAsync called − scheduled)", Latency.Summary(_sendLag))
            .Add("achieved delivery rate", ResultTable.Rate(_receivedInWindow / seconds) + $" ({ResultTable.Count(_receivedInWindow)} of {ResultTable.Count(_sentInWindow)} scheduled in the window)")
            .Add("not delivered", missing == 0 ? "0" : $"{ResultTable.Count(missing)} within {DrainTimeout.TotalSeconds:0} s after the window")
            .Add("duplicates / failed publishes / failed acks", $"{_duplicates} / {_publishFailed} / {_ackFailed}" + (_firstError is { } e ? $" (first error: {e.GetType().Name}: {e.Message})" : ""))
            .Add("whole run", $"{ResultTable.Count(_sentTotal)} sent, {ResultTable.Count(_receivedTotal)} received")
            .Add("producer batches re-sent (whole run)", _resends.Summary);
        if (s.Silos > 1)
        {
            results.Add("grain activations per silo", await broker.DescribePlacementAsync(Topic, "PartitionGrain", "SubscriptionGrain"));
        }

        counters.AddTo(results);
        RunReport.AddWarnings(results, broker.Warnings);
        results.Print(Console.Out);
        Console.WriteLine();
        return missing == 0 && _duplicates == 0 && _publishFailed == 0 && _ackFailed == 0 ? 0 : 1;
    }

    /// <summary>
    /// Publishes message i at start + i/R on a dedicated thread. When behind schedule it sends everything that is due at
    /// once; when ahead it sleeps (about 1 ms on Linux), so messages go out in small bursts.
    /// </summary>
    private void Pace(IProducer producer, CancellationToken cancellationToken)
    {
        var ticksPerMessage = (double)Stopwatch.Frequency / _settings.Rate;
        for (long i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var scheduled = _clock.Start + (long)(i * ticksPerMessage);
            if (scheduled >= _clock.MeasureUntil || i >= _seen.Length)
            {
                return;
            }

            long now;
            while ((now = Stopwatch.GetTimestamp()) < scheduled)
            {
                Thread.Sleep(1);
            }

            var body = new byte[_settings.MessageSize];
            BinaryPrimitives.WriteInt64LittleEndian(body, scheduled);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), i);
            var inWindow = _clock.InWindow(scheduled);
            Interlocked.Increment(ref _sentTotal);
            if (inWindow)
            {
                Interlocked.Increment(ref _sentInWindow);
                _sendLag.Record(scheduled, now);
            }

            ValueTask<PublishReceipt> publish;
            try
            {
                publish = producer.PublishAsync(new Message(body), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                publish = ValueTask.FromException<PublishReceipt>(ex);
            }

            _ = AwaitPublishAsync(publish, scheduled, inWindow);
        }
    }

    private async Task AwaitPublishAsync(ValueTask<PublishReceipt> publish, long scheduled, bool inWindow)
    {
        try
        {
            await publish;
            if (inWindow)
            {
                _publishAck.Record(scheduled, Stopwatch.GetTimestamp());
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _publishFailed);
            Interlocked.CompareExchange(ref _firstError, ex, null);
        }
    }

    private async Task ConsumeAsync(IConsumer consumer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var delivery in consumer.ConsumeAsync(cancellationToken))
            {
                var received = Stopwatch.GetTimestamp();
                var body = delivery.Message.Body.Span;
                var scheduled = BinaryPrimitives.ReadInt64LittleEndian(body);
                var sequence = BinaryPrimitives.ReadInt64LittleEndian(body[8..]);
                _progress.Record(scheduled, received);
                if (sequence >= 0 && sequence < _seen.Length && Interlocked.Exchange(ref _seen[sequence], 1) != 0)
                {
                    Interlocked.Increment(ref _duplicates);
                }
                else
                {
                    Interlocked.Increment(ref _receivedTotal);
                    if (_clock.InWindow(scheduled))
                    {
                        _endToEnd.Record(scheduled, received);
                        Interlocked.Increment(ref _receivedInWindow);
                    }
                }

                if (_settings.Ack == AckOption.Grouped)
                {
                    delivery.Ack();
                }
                else
                {
                    _ = AckAsync(delivery);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task AckAsync(Delivery delivery)
    {
        try
        {
            await delivery.AckAsync();
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _ackFailed);
            Interlocked.CompareExchange(ref _firstError, ex, null);
        }
    }
}
