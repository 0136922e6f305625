using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using OrleansMQ.Benchmarks.Harness;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>
/// Runs one <see cref="Workload"/> against one <see cref="IBenchmarkDriver"/>, the way the OpenMessaging Benchmark
/// worker does: create topics and subscriptions, start consumers, run producers (paced or as fast as acks come back)
/// through a warm-up and a measured window, then wait for the window's messages to arrive. Every message body carries
/// its time stamp, a sequence number and its topic.
/// <para>
/// Fixed-rate runs are coordinated-omission corrected: message i is due at start + i/rate, and publish and end-to-end
/// latency are measured from that intended time, not from when the (possibly stalled) pacer actually sent it. Max-rate
/// runs measure from the actual send (there is no schedule to fall behind).
/// </para>
/// </summary>
internal sealed class WorkloadRunner
{
    /// <summary>Body prefix: time stamp (8), sequence number (8), topic index (4), subscription-free padding (4).</summary>
    public const int HeaderBytes = 24;

    private readonly Workload _w;
    private readonly IBenchmarkDriver _driver;
    private readonly ProcessTreeSampler _sampler;
    private readonly TextWriter _log;
    private readonly RunLimits _limits;
    private readonly string _runId = Guid.NewGuid().ToString("N")[..8];
    private readonly HistogramBase _publish = Latency.NewConcurrentHistogram();
    private readonly HistogramBase _endToEnd = Latency.NewConcurrentHistogram();
    private readonly HistogramBase _redelivery = Latency.NewConcurrentHistogram();
    private readonly ConcurrentDictionary<long, long> _nackedAt = new();
    private readonly ConcurrentDictionary<long, byte> _acked = new();
    private readonly long _nackEvery;
    private long _measureFrom;
    private long _measureUntil = long.MaxValue;
    private long _seq;
    private long _inFlight;
    private long _sentTotal;
    private long _ackedTotal;
    private long _ackedInWindowByAckTime;
    private long _ackedSentInWindow;
    private long _deliveredTotal;
    private long _deliveredInWindow;
    private long _publishErrors;
    private long _nacks;
    private long _duplicates;
    private Exception? _firstError;

    private WorkloadRunner(IBenchmarkDriver driver, ProcessTreeSampler sampler, Workload workload, RunLimits limits, TextWriter log)
    {
        _driver = driver;
        _sampler = sampler;
        _w = workload;
        _limits = limits;
        _log = log;
        _nackEvery = workload.NackPercent > 0 ? (long)Math.Round(100 / workload.NackPercent) : 0;
    }

    public static Task<WorkloadResult> RunAsync(IBenchmarkDriver driver, ProcessTreeSampler sampler, Workload workload, RunLimits limits, TextWriter log, CancellationToken cancellationToken) =>
        new WorkloadRunner(driver, sampler, workload, limits, log).RunCoreAsync(cancellationToken);

    private async Task<WorkloadResult> RunCoreAsync(CancellationToken cancellationToken)
    {
        var w = _w;
        var rssBefore = _sampler.CurrentRssBytes;
        var topics = Enumerable.Range(0, w.Topics).Select(t => $"omqb-{_runId}-{t}").ToArray();
        var subscriptions = Enumerable.Range(0, w.SubscriptionsPerTopic).Select(s => $"sub{s}").ToArray();
        await ForEachAsync(topics, topic => _driver.CreateTopicAsync(topic, w.PartitionsPerTopic, subscriptions, cancellationToken), cancellationToken);

        var producers = new List<(IBenchmarkProducer Producer, int Topic)>();
        var consumers = new List<IBenchmarkConsumer>();
        try
        {
            var producerSlots = Enumerable.Range(0, topics.Length).SelectMany(t => Enumerable.Repeat(t, w.ProducersPerTopic)).ToArray();
            var created = new (IBenchmarkProducer, int)[producerSlots.Length];
            await ForEachAsync(Enumerable.Range(0, producerSlots.Length), async i =>
                created[i] = (await _driver.CreateProducerAsync(topics[producerSlots[i]], w.PartitionsPerTopic, cancellationToken), producerSlots[i]), cancellationToken);
            producers.AddRange(created);

            if (!w.IsBacklog)
            {
                await StartConsumersAsync(topics, subscriptions, consumers, cancellationToken);
            }

            var rssPerTopicKiB = Math.Max(0, _sampler.CurrentRssBytes - rssBefore) / 1024.0 / w.Topics;
            return w.IsBacklog
                ? await RunBacklogAsync(producers, topics, subscriptions, consumers, rssPerTopicKiB, cancellationToken)
                : await RunTimedAsync(producers, rssPerTopicKiB, cancellationToken);
        }
        finally
        {
            // All at once: a consumer may wait for its outstanding long poll (OrleansMQ: up to 1 s) before it is gone.
            await Task.WhenAll(consumers.Select(c => c.DisposeAsync().AsTask()));
            await Task.WhenAll(producers.Select(p => p.Producer.DisposeAsync().AsTask()));
        }
    }

    private async Task StartConsumersAsync(string[] topics, string[] subscriptions, List<IBenchmarkConsumer> consumers, CancellationToken cancellationToken)
    {
        var slots = (from topic in topics
                     from s in Enumerable.Range(0, subscriptions.Length)
                     from c in Enumerable.Range(0, _w.ConsumersPerSubscription)
                     select (Topic: topic, Subscription: s)).ToArray();
        var created = new IBenchmarkConsumer?[slots.Length];
        try
        {
            await ForEachAsync(Enumerable.Range(0, slots.Length), async i =>
            {
                var (topic, subscription) = slots[i];
                created[i] = await _driver.CreateConsumerAsync(topic, _w.PartitionsPerTopic, subscriptions[subscription], body => OnMessage(body, subscription), cancellationToken);
            }, cancellationToken);
        }
        finally
        {
            // Whatever was created gets disposed by the caller, also when a later creation failed.
            consumers.AddRange(created.OfType<IBenchmarkConsumer>());
        }
    }

    /// <summary>
    /// Setup calls (create topic, producer, consumer) 16 at a time: W4's 1,000 topics would otherwise take minutes of
    /// sequential round trips on some brokers before anything is measured.
    /// </summary>
    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> action, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (item, _) => await action(item));

    private async Task<WorkloadResult> RunTimedAsync(List<(IBenchmarkProducer Producer, int Topic)> producers, double rssPerTopicKiB, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        _measureFrom = Latency.After(start, TimeSpan.FromSeconds(_w.WarmupSeconds));
        _measureUntil = Latency.After(_measureFrom, TimeSpan.FromSeconds(_w.DurationSeconds));
        Task producing;
        if (_w.FixedRate)
        {
            var pacer = new Thread(() => Pace(producers, start, cancellationToken)) { IsBackground = true, Name = "omqb pacer" };
            pacer.Start();
            producing = Task.Run(pacer.Join, cancellationToken);
        }
        else
        {
            producing = Task.WhenAll(producers.Select(p => Task.Run(() => PublishAsFastAsAckedAsync(p.Producer, p.Topic, () => Stopwatch.GetTimestamp() < _measureUntil), cancellationToken)));
        }

        await DelayUntilAsync(_measureFrom, cancellationToken);
        var from = _sampler.Now();
        var harnessFrom = HarnessCpu();
        _sampler.ResetMaxRss();
        await DelayUntilAsync(_measureUntil, cancellationToken);
        var to = _sampler.Now();
        var harnessCpu = HarnessCpuPercent(harnessFrom, from, to);
        var rssMax = _sampler.MaxRssBytes;
        await producing;
        await WaitForAsync(() => Interlocked.Read(ref _inFlight) == 0, _limits.Drain, cancellationToken);
        var expected = Interlocked.Read(ref _ackedSentInWindow) * _w.SubscriptionsPerTopic;
        await WaitForAsync(() => Interlocked.Read(ref _deliveredInWindow) >= expected, _limits.Drain, cancellationToken);
        if (_nackEvery > 0)
        {
            await WaitForAsync(() => _nackedAt.IsEmpty, _limits.Drain, cancellationToken);
        }

        var seconds = _w.DurationSeconds;
        return Result() with
        {
            PublishRate = _ackedInWindowByAckTime / seconds,
            PublishMBps = _ackedInWindowByAckTime * (double)_w.MessageSize / seconds / 1_000_000,
            ConsumeRate = _deliveredInWindow / seconds,
            PublishLatency = LatencySummary.From(_publish),
            EndToEndLatency = LatencySummary.From(_endToEnd),
            Delivered = _deliveredInWindow,
            Missing = Math.Max(0, expected - _deliveredInWindow),
            BrokerCpuPercent = Math.Round(ProcessTreeSampler.CpuPercent(from, to), 1),
            MachineBusyPercent = Math.Round(ProcessTreeSampler.MachineBusyPercent(from, to), 1),
            HarnessCpuPercent = Math.Round(harnessCpu, 1),
            ForeignLoadPercent = Math.Round(ForeignLoad(from, to, harnessCpu), 1),
            BrokerRssMaxMB = Math.Round(rssMax / 1e6, 1),
            RssPerTopicKiB = Math.Round(rssPerTopicKiB, 1),
            MeasuredSeconds = seconds,
        };
    }

    private async Task<WorkloadResult> RunBacklogAsync(List<(IBenchmarkProducer Producer, int Topic)> producers, string[] topics, string[] subscriptions,
        List<IBenchmarkConsumer> consumers, double rssPerTopicKiB, CancellationToken cancellationToken)
    {
        // Every message counts: the "window" is the whole run.
        _measureFrom = 0;
        var publishStart = Stopwatch.GetTimestamp();
        var publishDeadline = Latency.After(publishStart, _limits.BacklogPhase);
        await Task.WhenAll(producers.Select(p => Task.Run(
            () => PublishAsFastAsAckedAsync(p.Producer, p.Topic, () => Interlocked.Read(ref _seq) < _w.BacklogSize && Stopwatch.GetTimestamp() < publishDeadline),
            cancellationToken)));
        await WaitForAsync(() => Interlocked.Read(ref _inFlight) == 0, _limits.Drain, cancellationToken);
        var publishSeconds = Stopwatch.GetElapsedTime(publishStart).TotalSeconds;
        var backlog = Interlocked.Read(ref _ackedTotal);
        _log.WriteLine($"    backlog of {backlog:N0} built in {publishSeconds:0.0} s; draining ...");

        _sampler.ResetMaxRss();
        var from = _sampler.Now();
        var harnessFrom = HarnessCpu();
        var drainStart = Stopwatch.GetTimestamp();
        await StartConsumersAsync(topics, subscriptions, consumers, cancellationToken);
        var expected = backlog * _w.SubscriptionsPerTopic;
        await WaitForAsync(() => Interlocked.Read(ref _deliveredTotal) >= expected, _limits.BacklogPhase, cancellationToken);
        var drainSeconds = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;
        var to = _sampler.Now();
        var harnessCpu = HarnessCpuPercent(harnessFrom, from, to);
        var delivered = Interlocked.Read(ref _deliveredTotal);
        return Result() with
        {
            PublishRate = backlog / publishSeconds,
            PublishMBps = backlog * (double)_w.MessageSize / publishSeconds / 1_000_000,
            ConsumeRate = delivered / drainSeconds,
            PublishLatency = LatencySummary.From(_publish),
            Delivered = delivered,
            Missing = Math.Max(0, expected - delivered),
            BacklogPublishRate = Math.Round(backlog / publishSeconds),
            DrainRate = Math.Round(delivered / drainSeconds),
            DrainSeconds = Math.Round(drainSeconds, 2),
            BrokerCpuPercent = Math.Round(ProcessTreeSampler.CpuPercent(from, to), 1),
            MachineBusyPercent = Math.Round(ProcessTreeSampler.MachineBusyPercent(from, to), 1),
            HarnessCpuPercent = Math.Round(harnessCpu, 1),
            ForeignLoadPercent = Math.Round(ForeignLoad(from, to, harnessCpu), 1),
            BrokerRssMaxMB = Math.Round(_sampler.MaxRssBytes / 1e6, 1),
            RssPerTopicKiB = Math.Round(rssPerTopicKiB, 1),
            MeasuredSeconds = Math.Round(drainSeconds, 2),
        };
    }

    private WorkloadResult Result() => new()
    {
        Driver = _driver.Name,
        Workload = _w.Name,
        Durability = _driver.Durability,
        FsyncBeforeAck = _driver.FsyncBeforeAck,
        Sent = _sentTotal,
        PublishErrors = _publishErrors,
        FirstError = _firstError is { } e ? $"{e.GetType().Name}: {e.Message}" : null,
        Nacks = _nackEvery > 0 ? _nacks : null,
        Duplicates = _nackEvery > 0 ? _duplicates : null,
        RedeliveryLatency = _nackEvery > 0 ? LatencySummary.From(_redelivery) : null,
        Topics = _w.Topics,
        MessageSize = _w.MessageSize,
        ProducerRate = _w.ProducerRate,
    };

    /// <summary>
    /// Fixed rate on a dedicated thread: message i is due at start + i/rate and goes to producer i mod n. When behind it
    /// sends everything due at once; when ahead it sleeps (~1 ms), so messages leave in small bursts.
    /// </summary>
    private void Pace(List<(IBenchmarkProducer Producer, int Topic)> producers, long start, CancellationToken cancellationToken)
    {
        var ticksPerMessage = (double)Stopwatch.Frequency / _w.ProducerRate;
        for (long i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var intended = start + (long)(i * ticksPerMessage);
            if (intended >= _measureUntil)
            {
                return;
            }

            while (Stopwatch.GetTimestamp() < intended)
            {
                Thread.Sleep(1);
            }

            var (producer, topic) = producers[(int)(i % producers.Count)];
            Send(producer, topic, intended);
        }
    }

    private async Task PublishAsFastAsAckedAsync(IBenchmarkProducer producer, int topic, Func<bool> keepGoing)
    {
        using var window = new SemaphoreSlim(_w.MaxOutstandingPerProducer);
        while (keepGoing())
        {
            await window.WaitAsync();
            if (!keepGoing())
            {
                window.Release();
                break;
            }

            _ = Send(producer, topic, Stopwatch.GetTimestamp()).ContinueWith(static (_, s) => ((SemaphoreSlim)s!).Release(), window, TaskScheduler.Default);
        }

        // Let the last publishes finish before the semaphore goes away.
        for (var i = 0; i < _w.MaxOutstandingPerProducer; i++)
        {
            await window.WaitAsync();
        }
    }

    private Task Send(IBenchmarkProducer producer, int topic, long timestamp)
    {
        var seq = Interlocked.Increment(ref _seq) - 1;
        var body = new byte[_w.MessageSize];
        BinaryPrimitives.WriteInt64LittleEndian(body, timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), seq);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(16), topic);
        Interlocked.Increment(ref _sentTotal);
        Interlocked.Increment(ref _inFlight);
        Task send;
        try
        {
            send = producer.SendAsync(seq, body);
        }
        catch (Exception ex)
        {
            send = Task.FromException(ex);
        }

        return AwaitAckAsync(send, timestamp);
    }

    private async Task AwaitAckAsync(Task send, long timestamp)
    {
        try
        {
            await send.ConfigureAwait(false);
            var acked = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _ackedTotal);
            if (InWindow(timestamp))
            {
                _publish.Record(timestamp, acked);
                Interlocked.Increment(ref _ackedSentInWindow);
            }

            if (InWindow(acked))
            {
                Interlocked.Increment(ref _ackedInWindowByAckTime);
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _publishErrors);
            Interlocked.CompareExchange(ref _firstError, ex, null);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>The consumers' callback: true = ack, false = nack (the first delivery of every (100 / nackPercent)-th message).</summary>
    private bool OnMessage(ReadOnlyMemory<byte> body, int subscription)
    {
        var now = Stopwatch.GetTimestamp();
        var span = body.Span;
        if (span.Length < HeaderBytes)
        {
            return true;
        }

        var timestamp = BinaryPrimitives.ReadInt64LittleEndian(span);
        var seq = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
        if (_nackEvery > 0)
        {
            var key = (seq << 8) | (uint)subscription;
            if (_acked.ContainsKey(key))
            {
                Interlocked.Increment(ref _duplicates);
                return true;
            }

            if (_nackedAt.TryGetValue(key, out var nackedAt))
            {
                _redelivery.Record(nackedAt, now);
                _acked.TryAdd(key, 0);
                _nackedAt.TryRemove(key, out _);
            }
            else if (seq % _nackEvery == 0)
            {
                _nackedAt[key] = now;
                Interlocked.Increment(ref _nacks);
                return false;
            }
            else
            {
                _acked.TryAdd(key, 0);
            }
        }

        Interlocked.Increment(ref _deliveredTotal);
        if (InWindow(timestamp))
        {
            Interlocked.Increment(ref _deliveredInWindow);
            if (!_w.IsBacklog)
            {
                _endToEnd.Record(timestamp, now);
            }
        }

        return true;
    }

    private static TimeSpan HarnessCpu() => Process.GetCurrentProcess().TotalProcessorTime;

    private static double HarnessCpuPercent(TimeSpan cpuFrom, ProcessTreeSampler.Mark from, ProcessTreeSampler.Mark to)
    {
        var seconds = Stopwatch.GetElapsedTime(from.Timestamp, to.Timestamp).TotalSeconds;
        return seconds <= 0 ? 0 : (HarnessCpu() - cpuFrom).TotalSeconds / seconds * 100;
    }

    /// <summary>Machine busy minus broker and harness, in percent of the whole machine (all cores).</summary>
    private static double ForeignLoad(ProcessTreeSampler.Mark from, ProcessTreeSampler.Mark to, double harnessCpu) =>
        Math.Max(0, ProcessTreeSampler.MachineBusyPercent(from, to) - (ProcessTreeSampler.CpuPercent(from, to) + harnessCpu) / Environment.ProcessorCount);

    private bool InWindow(long timestamp) => timestamp >= _measureFrom && timestamp < _measureUntil;

    private static async Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds or <paramref name="timeout"/> passed.</summary>
    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (!condition() && Stopwatch.GetElapsedTime(start) < timeout)
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}

/// <summary>Upper bounds for the open-ended phases of a run (waiting for stragglers, building and draining a backlog).</summary>
internal sealed record RunLimits(TimeSpan Drain, TimeSpan BacklogPhase)
{
    public static RunLimits For(RunMode mode) => mode switch
    {
        RunMode.Full => new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(300)),
        RunMode.Quick => new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30)),
        _ => new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15)),
    };
}
