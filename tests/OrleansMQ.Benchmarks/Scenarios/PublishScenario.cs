using System.Buffers.Binary;
using System.Diagnostics;
using HdrHistogram;
using OrleansMQ.Benchmarks.Harness;
using OrleansMQ.Client;

namespace OrleansMQ.Benchmarks.Scenarios;

/// <summary>
/// Durable publish throughput: N producers each keep a bounded window of publishes in flight (the producer batches per
/// partition on its own) and count acknowledgements, which the broker sends only once a message is durable.
/// Throughput counts acks that arrive inside the measured window; latency covers publishes started inside it.
/// </summary>
internal sealed class PublishScenario
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private readonly BenchmarkSettings _settings;
    private readonly HistogramBase _latency = Latency.NewConcurrentHistogram();
    private readonly Recorder _progress = Latency.NewRecorder();
    private MeasurementClock _clock = null!;
    private long _ackedInWindow;
    private long _ackedTotal;
    private long _published;
    private long _failed;
    private long _unfinished;
    private Exception? _firstError;

    private PublishScenario(BenchmarkSettings settings) => _settings = settings;

    public static async Task<int> RunAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        settings.Validate();
        return await new PublishScenario(settings).RunCoreAsync(cancellationToken);
    }

    private readonly ProducerResendCounter _resends = new();

    private async Task<int> RunCoreAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        Console.WriteLine($"publish: starting {BrokerUnderTest.DescribeSilos(s)} and a client ({BrokerUnderTest.DescribeStorage(s)}) ...");
        await using var broker = await BrokerUnderTest.StartAsync(s, cancellationToken);
        RunReport.Configuration("publish", s, broker)
            .Add("producers", $"{s.Producers} × IOrleansMQClient.CreateProducer, each with ≤ {s.Window} publishes in flight")
            .Print(Console.Out);

        const string topic = "bench-publish";
        await broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = s.Partitions }, cancellationToken);
        var producers = Enumerable.Range(0, s.Producers)
            .Select(_ => broker.Client.CreateProducer(topic, new ProducerOptions { Linger = s.Linger, MaxBatchMessages = s.MaxBatchMessages, MaxInFlightBatches = s.MaxInFlightBatches }))
            .ToArray();

        using var counters = new WindowCounters(broker);
        Console.WriteLine();
        Console.WriteLine("progress (acks per interval; publish→ack latency of the acks in it):");

        _clock = new MeasurementClock(s.Warmup, s.Duration);
        var drivers = producers.Select((p, i) => Task.Run(() => DriveAsync(p, i, cancellationToken), cancellationToken)).ToArray();
        await _clock.RunAsync(
            onBegin: counters.Begin,
            onEnd: counters.End,
            onTick: (elapsed, measuring, interval) =>
            {
                var h = _progress.GetIntervalHistogram();
                Console.WriteLine($"  {elapsed,5:0.0} s {(measuring ? "measure" : "warm-up"),-8} {ResultTable.Rate(h.TotalCount / interval),12}  {Latency.Summary(h)}");
            },
            cancellationToken);

        await Task.WhenAll(drivers);
        foreach (var producer in producers)
        {
            await producer.DisposeAsync();
        }

        var partitions = await broker.Client.Admin.GetPartitionsAsync(topic, cancellationToken);
        var stored = partitions.Sum(p => p.HighWatermark - p.LowWatermark);

        var seconds = _clock.Window.TotalSeconds;
        var results = new ResultTable($"publish: results ({BrokerUnderTest.DescribeStorage(s)}, {BrokerUnderTest.DescribeSilos(s)}, {s.Partitions} partitions, {s.Producers} producers, {s.MessageSize} B)")
            .Add(AckedLabel(s), $"{_ackedInWindow / seconds:N0} msgs/s")
            .Add("payload throughput", _ackedInWindow * (double)s.MessageSize / seconds / 1e6, "0.00", "MB/s (body bytes, 10^6)")
            .Add("publish → ack latency", Latency.Summary(_latency))
            .Add("publish → ack latency mean", Latency.MeanMs(_latency) + " ms")
            .Add("acks in the window", $"{ResultTable.Count(_ackedInWindow)} in {seconds:0.#} s")
            .Add("producer batches re-sent (whole run)", _resends.Summary)
            .Add("failed publishes", _failed == 0 ? "0" : $"{ResultTable.Count(_failed)} (first: {_firstError?.GetType().Name}: {_firstError?.Message})")
            .Add("stored vs acknowledged (whole run)", $"{ResultTable.Count(stored)} stored, {ResultTable.Count(_ackedTotal)} acknowledged, {ResultTable.Count(_published)} published" +
                (_unfinished > 0 ? $", {ResultTable.Count(_unfinished)} not settled within {DrainTimeout.TotalSeconds:0} s" : ""));
        if (s.Silos > 1)
        {
            results.Add("grain activations per silo", await broker.DescribePlacementAsync(topic, "PartitionGrain"));
        }

        counters.AddTo(results);
        RunReport.AddWarnings(results, broker.Warnings);
        results.Print(Console.Out);
        Console.WriteLine();
        return _failed == 0 && _unfinished == 0 ? 0 : 1;
    }

    private static string AckedLabel(BenchmarkSettings s) => (s.Storage, s.Fsync) switch
    {
        (StorageOption.Memory, _) => "acknowledged throughput (in memory, not durable)",
        (StorageOption.Azure, _) => "acknowledged (durable: Append Block acknowledged by the storage service) throughput",
        (_, FsyncOption.Never) => "acknowledged throughput (written, not fsync'd)",
        _ => "acknowledged (durable, fsync'd) throughput",
    };

    /// <summary>Publishes as fast as the window allows until the measured window ends, then waits for the rest to settle.</summary>
    private async Task DriveAsync(IProducer producer, int producerIndex, CancellationToken cancellationToken)
    {
        // Not disposed: completions may still release it after a drain timeout.
        var window = new SemaphoreSlim(_settings.Window, _settings.Window);
        var sequence = (long)producerIndex << 40;
        while (!cancellationToken.IsCancellationRequested)
        {
            await window.WaitAsync(cancellationToken);
            var start = Stopwatch.GetTimestamp();
            if (start >= _clock.MeasureUntil)
            {
                window.Release();
                break;
            }

            var body = new byte[_settings.MessageSize];
            BinaryPrimitives.WriteInt64LittleEndian(body, start);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), sequence++);
            Interlocked.Increment(ref _published);
            ValueTask<PublishReceipt> publish;
            try
            {
                publish = producer.PublishAsync(new Message(body), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                publish = ValueTask.FromException<PublishReceipt>(ex);
            }

            _ = CompleteAsync(publish, start, window);
        }

        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(DrainTimeout);
        for (var settled = 0; settled < _settings.Window; settled++)
        {
            try
            {
                await window.WaitAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Add(ref _unfinished, _settings.Window - settled);
                return;
            }
        }
    }

    private async Task CompleteAsync(ValueTask<PublishReceipt> publish, long start, SemaphoreSlim window)
    {
        try
        {
            await publish;
            var end = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _ackedTotal);
            _progress.Record(start, end);
            if (_clock.InWindow(end))
            {
                Interlocked.Increment(ref _ackedInWindow);
            }

            if (_clock.InWindow(start))
            {
                _latency.Record(start, end);
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, ex, null);
        }
        finally
        {
            window.Release();
        }
    }
}
