using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Benchmarks.Harness;
using OrleansMQ.Client;

namespace OrleansMQ.Benchmarks.Scenarios;

/// <summary>
/// Routing overhead, as ratios measured in one process against one broker: each case publishes as fast as
/// acknowledgements come back (N producers, a bounded window each, the same body size) for the same time, and the cases
/// run interleaved, once per round in rotating order, so that foreign load on a shared machine hits them alike.
/// Cost is this process's CPU time per acknowledged message (client and silo share the process); throughput is acked
/// messages per second. An acknowledgement means durable in every destination.
/// <list type="bullet">
/// <item><c>direct</c>: <see cref="IProducer"/> to a topic;</item>
/// <item><c>exchange-100</c>: <see cref="IExchangeProducer"/> through a topic exchange with 100 bindings, one matching,
/// to a topic like the direct one; <c>exchange-100+3tx</c> the same with 3 transform steps (set header, rename header,
/// CloudEvents wrap) on the matching binding;</item>
/// <item><c>fanout-1</c> / <c>fanout-10</c>: a fanout exchange to 1 queue / 10 queues (1 partition each, the queue default);</item>
/// <item><c>subs-10</c>: a fanout exchange to one topic (1 partition) with 10 subscriptions: the fan-out stored once.</item>
/// </list>
/// </summary>
internal sealed class RoutingScenario
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    // What a purged queue keeps: its active segment (the file log's default segment size).
    private const long FileLogOptionsSegmentBytes = OrleansMQ.Server.Storage.FileLogOptions.DefaultSegmentBytes;
    private readonly BenchmarkSettings _settings;

    private RoutingScenario(BenchmarkSettings settings) => _settings = settings;

    public static async Task<int> RunAsync(BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        // Routers cache bindings for RoutingCacheTtl and each bind waits that long; 100 ms keeps the ~210 binds of the
        // set-up to ~25 s. Routers then reload their table 10 times a second: a cost charged to the exchange cases.
        // Retention runs every second, so the queues purged before each round give their segments back (see PurgeAsync).
        settings = settings with
        {
            RoutingCacheTtl = settings.RoutingCacheTtl ?? TimeSpan.FromMilliseconds(100),
            RetentionInterval = settings.RetentionInterval ?? TimeSpan.FromSeconds(1),
        };
        settings.Validate();
        return await new RoutingScenario(settings).RunCoreAsync(cancellationToken);
    }

    private async Task<int> RunCoreAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        Console.WriteLine($"routing: starting {BrokerUnderTest.DescribeSilos(s)} and a client ({BrokerUnderTest.DescribeStorage(s)}) ...");
        await using var broker = await BrokerUnderTest.StartAsync(s, cancellationToken);
        RunReport.Configuration("routing", s, broker)
            .Add("producers", $"{s.Producers} per case, each with ≤ {s.Window} publishes in flight")
            .Add("rounds", $"{s.Rounds} × every case ({s.Warmup.TotalSeconds:0.#} s warm-up + {s.Duration.TotalSeconds:0.#} s measured each), rotating order")
            .Add("routing cache TTL", $"{s.RoutingCacheTtl!.Value.TotalMilliseconds:0} ms")
            .Print(Console.Out);

        Console.WriteLine();
        Console.WriteLine("setting up topics, queues, exchanges and 212 bindings ...");
        var setup = Stopwatch.StartNew();
        var cases = await SetUpAsync(broker.Client, cancellationToken);
        if (s.Cases.Count > 0)
        {
            var unknown = s.Cases.Except(cases.Select(c => c.Name), StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                throw new ArgumentException($"--cases: unknown {string.Join(", ", unknown)}; the cases are {string.Join(", ", cases.Select(c => c.Name))}.");
            }

            cases = [.. cases.Where(c => s.Cases.Contains(c.Name, StringComparer.Ordinal))];
        }

        Console.WriteLine($"set up in {setup.Elapsed.TotalSeconds:0.0} s");

        var samples = cases.ToDictionary(c => c.Name, _ => new List<Sample>(), StringComparer.Ordinal);
        var failed = 0L;
        for (var round = 0; round < s.Rounds; round++)
        {
            for (var k = 0; k < cases.Length; k++)
            {
                var c = cases[(k + round) % cases.Length];
                if (c.Reset is { } reset)
                {
                    await reset();
                }

                var sample = await MeasureAsync(c, cancellationToken);
                samples[c.Name].Add(sample);
                failed += sample.Failed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1} {c.Name,-16} {sample.Rate,10:N0} msgs/s  {sample.CpuMicrosPerMessage,7:0.0} µs CPU/msg  foreign load {sample.ForeignLoad * 100,3:0}%  GCs gen0/1/2 {sample.Collections}{(sample.Failed > 0 ? $"  {sample.Failed} FAILED ({sample.FirstError})" : "")}"));
            }
        }

        PrintResults(cases, samples);
        var warnings = new ResultTable("routing: warnings");
        RunReport.AddWarnings(warnings, broker.Warnings);
        warnings.Print(Console.Out);
        return failed == 0 ? 0 : 1;
    }

    private async Task<Case[]> SetUpAsync(IOrleansMQClient mq, CancellationToken cancellationToken)
    {
        var s = _settings;
        var admin = mq.Admin;
        // Nobody reads these topics either: size retention (deleting sealed segments every second) keeps each partition
        // to about two segments, as a topic with retention would be. Without it they grew by ~2 GB a round, and the
        // cases measured after them ran ~15 % slower in later rounds, writing into page-cache memory never used before.
        var bounded = new RetentionPolicy { MaxBytes = FileLogOptionsSegmentBytes };
        await admin.CreateTopicAsync("bench-direct", new TopicSpec { Partitions = s.Partitions, Retention = bounded }, cancellationToken);
        await admin.CreateTopicAsync("bench-routed", new TopicSpec { Partitions = s.Partitions, Retention = bounded }, cancellationToken);
        await admin.CreateTopicAsync("bench-routed-tx", new TopicSpec { Partitions = s.Partitions, Retention = bounded }, cancellationToken);
        foreach (var (exchange, destination, transforms) in new[]
        {
            ("bench-topic", "bench-routed", (IReadOnlyList<TransformStep>?)null),
            ("bench-topic-tx", "bench-routed-tx", [TransformStep.SetHeader("region", "eu"), TransformStep.RenameHeader("omq-routing-key", "x-routing-key"), TransformStep.CloudEventsWrap("/bench", "bench.created")]),
        })
        {
            await admin.CreateExchangeAsync(exchange, new ExchangeSpec { Type = ExchangeType.Topic }, cancellationToken);
            foreach (var key in NonMatchingKeys(99))
            {
                await admin.BindAsync(exchange, new Binding { Destination = destination, Key = key }, cancellationToken);
            }

            await admin.BindAsync(exchange, new Binding { Destination = destination, Key = "orders.*.created", Transforms = transforms }, cancellationToken);
        }

        for (var q = 0; q <= 10; q++)
        {
            await admin.CreateQueueAsync($"bench-q{q}", new QueueSpec(), cancellationToken);
        }

        await admin.CreateExchangeAsync("bench-fanout-1", new ExchangeSpec { Type = ExchangeType.Fanout }, cancellationToken);
        await admin.BindAsync("bench-fanout-1", new Binding { Destination = "bench-q0" }, cancellationToken);
        await admin.CreateExchangeAsync("bench-fanout-10", new ExchangeSpec { Type = ExchangeType.Fanout }, cancellationToken);
        for (var q = 1; q <= 10; q++)
        {
            await admin.BindAsync("bench-fanout-10", new Binding { Destination = $"bench-q{q}" }, cancellationToken);
        }

        // The Kafka / Pulsar shape of a 10-way fan-out: one topic (stored once) with 10 subscriptions.
        string[] subscriptions = [.. Enumerable.Range(0, 10).Select(i => $"s{i}")];
        await admin.CreateTopicAsync("bench-subs", new TopicSpec { Partitions = 1, Retention = new RetentionPolicy { UntilAcknowledged = true } }, cancellationToken);
        foreach (var subscription in subscriptions)
        {
            await admin.CreateSubscriptionAsync("bench-subs", subscription, new SubscriptionSpec { Type = SubscriptionType.Shared }, cancellationToken);
        }

        await admin.CreateExchangeAsync("bench-fanout-subs", new ExchangeSpec { Type = ExchangeType.Fanout }, cancellationToken);
        await admin.BindAsync("bench-fanout-subs", new Binding { Destination = "bench-subs" }, cancellationToken);

        // Nobody consumes the queues: move their cursors to the end before each round, or a queue's backlog reaches its
        // 1 GiB limit after a few rounds and publishes fail with BacklogFull. Then wait (up to 30 s) for retention to
        // delete the acknowledged segments, as it would behind live consumers: a 10-way fan-out writes ~1.5 GB a round,
        // and without deleting, every round writes into page-cache memory the VM has never touched, which made the
        // kernel's copy into the page cache 3-4× slower from the third round on (32 % of all samples in
        // copy_folio_from_iter_atomic) — a cost of this machine, not of routing.
        async Task PurgeAsync(IReadOnlyList<(string Topic, string Subscription)> cursors)
        {
            foreach (var (topic, subscription) in cursors)
            {
                await admin.SeekAsync(topic, subscription, StartPosition.Latest, cancellationToken);
            }

            var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
            foreach (var topic in cursors.Select(c => c.Topic).Distinct())
            {
                while ((await admin.GetPartitionsAsync(topic, cancellationToken)).Sum(p => p.SizeBytes) > FileLogOptionsSegmentBytes)
                {
                    if (Stopwatch.GetTimestamp() > deadline)
                    {
                        Console.WriteLine($"  ({topic}: retention did not delete the purged segments within 30 s; measuring anyway)");
                        return;
                    }

                    await Task.Delay(100, cancellationToken);
                }
            }
        }

        static (string, string)[] Queues(int first, int last) =>
            [.. Enumerable.Range(first, last - first + 1).Select(q => ($"bench-q{q}", IOrleansMQAdmin.QueueSubscription))];

        ProducerOptions Options() => new() { Linger = s.Linger, MaxBatchMessages = s.MaxBatchMessages };
        Publisher Direct(string topic)
        {
            var p = mq.CreateProducer(topic, Options());
            return new Publisher((m, _, ct) => p.PublishAsync(m, ct).AsTask(), p.DisposeAsync);
        }

        Publisher Exchange(string exchange)
        {
            var p = mq.CreateExchangeProducer(exchange, Options());
            return new Publisher((m, seq, ct) => p.PublishAsync(RoutingKeys[seq & 7], m, ct).AsTask(), p.DisposeAsync);
        }

        return
        [
            new Case("direct", "IProducer → topic (8 partitions)", 1, () => Direct("bench-direct")),
            new Case("exchange-100", "topic exchange, 100 bindings (1 matches) → topic (8 partitions)", 1, () => Exchange("bench-topic")),
            new Case("exchange-100+3tx", "as exchange-100, 3 transform steps on the matching binding", 1, () => Exchange("bench-topic-tx")),
            new Case("fanout-1", "fanout exchange → 1 queue (1 partition)", 1, () => Exchange("bench-fanout-1"), () => PurgeAsync(Queues(0, 0))),
            new Case("fanout-10", "fanout exchange → 10 queues (1 partition each)", 10, () => Exchange("bench-fanout-10"), () => PurgeAsync(Queues(1, 10))),
            new Case("subs-10", "fanout exchange → 1 topic (1 partition) with 10 subscriptions", 10, () => Exchange("bench-fanout-subs"),
                () => PurgeAsync([.. subscriptions.Select(x => ("bench-subs", x))])),
        ];
    }

    /// <summary>Routing keys the exchange cases publish with, in turn (all match <c>orders.*.created</c>).</summary>
    private static readonly string[] RoutingKeys = [.. Enumerable.Range(0, 8).Select(i => $"orders.r{i}.created")];

    /// <summary>Binding keys that never match <see cref="RoutingKeys"/>, of several shapes (literal, <c>*</c>, <c>#</c>).</summary>
    private static IEnumerable<string> NonMatchingKeys(int count) => Enumerable.Range(0, count).Select(i => (i % 3) switch
    {
        0 => $"orders.*.cancelled{i}",
        1 => $"invoices.r{i}.#",
        _ => $"orders.#.refunded{i}",
    });

    private async Task<Sample> MeasureAsync(Case c, CancellationToken cancellationToken)
    {
        var s = _settings;
        var publishers = Enumerable.Range(0, s.Producers).Select(_ => c.Create()).ToArray();
        var clock = new MeasurementClock(s.Warmup, s.Duration);
        var state = new DriveState();
        CpuMeter begin = default, end = default;
        int[] gcBegin = [], gcEnd = [];
        static int[] Collections() => [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var drivers = publishers.Select((p, i) => Task.Run(() => DriveAsync(p, i, clock, state, cancellationToken), cancellationToken)).ToArray();
        await clock.RunAsync(() => (begin, gcBegin) = (CpuMeter.Take(), Collections()), () => (end, gcEnd) = (CpuMeter.Take(), Collections()), (_, _, _) => { }, cancellationToken);
        await Task.WhenAll(drivers);
        foreach (var p in publishers)
        {
            await p.DisposeAsync();
        }

        var (wall, cpu, foreign) = end.Since(begin);
        var acked = Interlocked.Read(ref state.AckedInWindow);
        var collections = $"{gcEnd[0] - gcBegin[0]}/{gcEnd[1] - gcBegin[1]}/{gcEnd[2] - gcBegin[2]}";
        return new Sample(acked / wall.TotalSeconds, acked == 0 ? double.NaN : cpu.TotalMicroseconds / acked, foreign, state.Failed + state.Unfinished, state.FirstError?.Message, collections);
    }

    private async Task DriveAsync(Publisher publisher, int index, MeasurementClock clock, DriveState state, CancellationToken cancellationToken)
    {
        var window = new SemaphoreSlim(_settings.Window, _settings.Window);
        var sequence = (long)index << 40;
        while (!cancellationToken.IsCancellationRequested)
        {
            await window.WaitAsync(cancellationToken);
            var start = Stopwatch.GetTimestamp();
            if (start >= clock.MeasureUntil)
            {
                window.Release();
                break;
            }

            var body = new byte[_settings.MessageSize];
            BinaryPrimitives.WriteInt64LittleEndian(body, start);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), sequence);
            Task publish;
            try
            {
                publish = publisher.Publish(new Message(body), (int)(sequence++ & int.MaxValue), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                publish = Task.FromException(ex);
            }

            _ = publish.ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    if (clock.InWindow(Stopwatch.GetTimestamp()))
                    {
                        Interlocked.Increment(ref state.AckedInWindow);
                    }
                }
                else
                {
                    Interlocked.Increment(ref state.Failed);
                    Interlocked.CompareExchange(ref state.FirstError, t.Exception?.GetBaseException(), null);
                }

                window.Release();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
                Interlocked.Add(ref state.Unfinished, _settings.Window - settled);
                return;
            }
        }
    }

    private void PrintResults(Case[] cases, Dictionary<string, List<Sample>> samples)
    {
        var s = _settings;
        Console.WriteLine();
        Console.WriteLine($"### routing: results ({BrokerUnderTest.DescribeStorage(s)}, {s.Producers} producers × {s.Window} in flight, {s.MessageSize} B, medians of {s.Rounds} rounds)");
        Console.WriteLine();
        Console.WriteLine("| case | what | acked msgs/s | copies/s (stored, or readable by a subscription) | CPU µs per msg | CPU µs per copy | foreign load |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var c in cases)
        {
            var list = samples[c.Name];
            var rate = Median(list.Select(x => x.Rate));
            var cpu = Median(list.Select(x => x.CpuMicrosPerMessage));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Name} | {c.Description} | {rate:N0} | {rate * c.CopiesPerMessage:N0} | {cpu:0.0} | {cpu / c.CopiesPerMessage:0.0} | {Median(list.Select(x => x.ForeignLoad)) * 100:0}% |"));
        }

        Console.WriteLine();
        Console.WriteLine("| ratio (per round, then median [min–max]) | CPU per published msg | throughput (inverse) | target |");
        Console.WriteLine("|---|---|---|---|");
        Ratio("exchange-100 vs direct", "exchange-100", "direct", "≤ 1.20");
        Ratio("exchange-100+3tx vs direct", "exchange-100+3tx", "direct", "–");
        Ratio("exchange-100+3tx vs exchange-100", "exchange-100+3tx", "exchange-100", "–");
        Ratio("fanout-10 vs fanout-1", "fanout-10", "fanout-1", "≤ 2.00");
        Ratio("fanout-1 vs direct", "fanout-1", "direct", "–");
        Ratio("subs-10 vs fanout-1 (10 subscriptions on one log)", "subs-10", "fanout-1", "–");

        void Ratio(string label, string a, string b, string target)
        {
            if (!samples.ContainsKey(a) || !samples.ContainsKey(b))
            {
                return;
            }

            var pairs = samples[a].Zip(samples[b]).ToList();
            var cost = pairs.Select(p => p.First.CpuMicrosPerMessage / p.Second.CpuMicrosPerMessage).ToList();
            var slow = pairs.Select(p => p.Second.Rate / p.First.Rate).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {Median(cost):0.00} [{cost.Min():0.00}–{cost.Max():0.00}] | {Median(slow):0.00} [{slow.Min():0.00}–{slow.Max():0.00}] | {target} |"));
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    // Reset runs before every measurement of the case (not measured).
    private sealed record Case(string Name, string Description, int CopiesPerMessage, Func<Publisher> Create, Func<Task>? Reset = null);

    private sealed record Publisher(Func<Message, int, CancellationToken, Task> Publish, Func<ValueTask> DisposeAsync);

    // Collections: garbage collections of generation 0/1/2 in the measured window (a gen2 in a round explains a slow one).
    private sealed record Sample(double Rate, double CpuMicrosPerMessage, double ForeignLoad, long Failed, string? FirstError, string Collections);

    private sealed class DriveState
    {
        public long AckedInWindow;
        public long Failed;
        public long Unfinished;
        public Exception? FirstError;
    }
}
