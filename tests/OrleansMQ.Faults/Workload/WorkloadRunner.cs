using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Client;
using OrleansMQ.Faults.History;

namespace OrleansMQ.Faults.Workload;

/// <summary>
/// The client side of a fault run: idempotent producers publish numbered messages and log every outcome; consumers on each
/// planned subscription log every delivery and ack it. Consumers that lose their silo reconnect and go on. Publishing
/// ends after <see cref="WorkloadOptions.Messages"/> per producer; consuming ends once every subscription has delivered
/// every acknowledged message, or after the drain timeout. The histories, not this program, decide whether the broker
/// kept its promises (<see cref="Checking.HistoryChecker"/>).
/// </summary>
public sealed class WorkloadRunner(WorkloadOptions options, TextWriter output)
{
    /// <summary>The publish history file name in <see cref="WorkloadOptions.OutputDirectory"/>.</summary>
    public const string PublishesFile = "publishes.jsonl";

    /// <summary>The delivery history file name.</summary>
    public const string DeliveriesFile = "deliveries.jsonl";

    /// <summary>Longest a final read runs while it still makes progress (the nemesis waits up to 4 minutes past publishing).</summary>
    /// <summary>How long no publish may end, with publishes outstanding, before the producer's state is printed.</summary>
    private static readonly TimeSpan StallReport = TimeSpan.FromSeconds(45);

    private static readonly TimeSpan FinalReadLimit = TimeSpan.FromMinutes(3);

    private readonly ConcurrentDictionary<(string, long), byte> _acked = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<(string, long), byte>> _seen = new();
    private int _ok, _failed, _unknown, _deliveries, _consumerErrors, _ackErrors;

    /// <summary>Runs the workload; returns 0 when it ran to the end (whatever the histories say).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        using var publishes = new HistoryFile<PublishRecord>(Path.Combine(options.OutputDirectory, PublishesFile));
        using var deliveries = new HistoryFile<DeliveryRecord>(Path.Combine(options.OutputDirectory, DeliveriesFile));
        var clock = Stopwatch.StartNew();
        await using var broker = await BrokerConnection.ConnectAsync(options.Gateways, cancellationToken);
        var mq = broker.Client;
        await Retry(() => CreateTopicAsync(mq, cancellationToken), cancellationToken);
        foreach (var plan in options.Subscriptions)
        {
            _seen[plan.Name] = new();
            await Retry(() => CreateSubscriptionAsync(mq, plan, cancellationToken), cancellationToken);
        }

        using var stopConsumers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consumers = options.Subscriptions
            .SelectMany(plan => Enumerable.Range(1, plan.Consumers).Select(i => ConsumeAsync(mq, plan, $"{options.RunId}-{plan.Name}-c{i}", deliveries, stopConsumers.Token)))
            .ToList();
        using var progress = new Timer(_ => Report("progress"), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        await Task.WhenAll(Enumerable.Range(1, options.Producers).Select(i => ProduceAsync(mq, $"{options.RunId}-p{i}", publishes, cancellationToken)));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"published in {clock.Elapsed.TotalSeconds:0.0} s"));

        // A read-only run (no producers) is a final read: it drains until each subscription has seen as many distinct
        // messages as the topic holds, however long that takes while it makes progress (a big topic on a loaded machine
        // can take minutes; stopping at a fixed deadline would report the unread tail as lost). It gives up after
        // DrainTimeout without progress, or FinalReadLimit in all. Live subscriptions drain for DrainTimeout at most.
        var stored = options.Producers == 0 ? (await mq.Admin.GetPartitionsAsync(options.Topic, cancellationToken)).Sum(p => p.HighWatermark - p.LowWatermark) : 0;
        var drainDeadline = Stopwatch.StartNew();
        var sinceProgress = Stopwatch.StartNew();
        var lastDeliveries = Volatile.Read(ref _deliveries);
        while (options.Producers == 0
                ? options.Subscriptions.Any(p => _seen[p.Name].Count < stored)
                : options.Subscriptions.Any(p => _seen[p.Name].Count(kv => _acked.ContainsKey(kv.Key)) < _acked.Count))
        {
            var delivered = Volatile.Read(ref _deliveries);
            if (delivered != lastDeliveries)
            {
                lastDeliveries = delivered;
                sinceProgress.Restart();
            }

            if (options.Producers == 0
                    ? sinceProgress.Elapsed >= options.DrainTimeout || drainDeadline.Elapsed >= FinalReadLimit
                    : drainDeadline.Elapsed >= options.DrainTimeout)
            {
                break;
            }

            await Task.Delay(100, cancellationToken);
        }

        await stopConsumers.CancelAsync();
        await Task.WhenAll(consumers);
        Report("done");
        return 0;
    }

    private void Report(string what) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} ok={Volatile.Read(ref _ok)} failed={Volatile.Read(ref _failed)} unknown={Volatile.Read(ref _unknown)} deliveries={Volatile.Read(ref _deliveries)} consumerErrors={Volatile.Read(ref _consumerErrors)} ackErrors={Volatile.Read(ref _ackErrors)}"));

    private async Task CreateTopicAsync(IOrleansMQClient mq, CancellationToken cancellationToken)
    {
        try
        {
            await mq.Admin.CreateTopicAsync(options.Topic, new TopicSpec { Partitions = options.Partitions }, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.AlreadyExists)
        {
        }
    }

    private async Task CreateSubscriptionAsync(IOrleansMQClient mq, SubscriptionPlan plan, CancellationToken cancellationToken)
    {
        try
        {
            await mq.Admin.CreateSubscriptionAsync(options.Topic, plan.Name, Spec(plan), cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.AlreadyExists)
        {
        }
    }

    // MaxDeliveries 0: never dead-letter (a message that keeps failing during a fault must still reach the checker).
    // Short lease and consumer timeouts so a consumer whose silo died is replaced quickly.
    private static SubscriptionSpec Spec(SubscriptionPlan plan) => new()
    {
        Type = plan.Type,
        Start = StartPosition.Earliest,
        MaxDeliveries = 0,
        AckTimeout = TimeSpan.FromSeconds(10),
        ConsumerTimeout = TimeSpan.FromSeconds(10),
    };

    private async Task ProduceAsync(IOrleansMQClient mq, string producerId, HistoryFile<PublishRecord> history, CancellationToken cancellationToken)
    {
        await using var producer = mq.CreateProducer(options.Topic, new ProducerOptions { ProducerId = producerId, DeliveryTimeout = options.DeliveryTimeout });
        using var window = new SemaphoreSlim(options.Window);
        var pending = new List<Task>(options.Messages);
        var started = Stopwatch.StartNew();
        var outstanding = new ConcurrentDictionary<long, long>();
        var lastCompletion = Stopwatch.GetTimestamp();
        // A publish must end (acknowledged or failed) within the delivery timeout plus a grain call: when none has ended for
        // longer, say where the producer's publishes are, so a hang in CI explains itself.
        using var watchdog = new Timer(_ =>
        {
            var quiet = Stopwatch.GetElapsedTime(Interlocked.Read(ref lastCompletion));
            if (!outstanding.IsEmpty && quiet > StallReport)
            {
                Interlocked.Exchange(ref lastCompletion, Stopwatch.GetTimestamp());
                var oldest = outstanding.OrderBy(kv => kv.Key).Take(5).Select(kv => string.Create(CultureInfo.InvariantCulture, $"seq {kv.Key} ({Stopwatch.GetElapsedTime(kv.Value).TotalSeconds:0} s)"));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"STALL {producerId}: no publish ended for {quiet.TotalSeconds:0} s, {outstanding.Count} outstanding, oldest {string.Join(", ", oldest)}\n{producer}"));
            }
        }, null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        for (long seq = 0; seq < options.Messages; seq++)
        {
            if (options.Rate > 0)
            {
                var due = TimeSpan.FromSeconds((double)seq / options.Rate);
                if (due > started.Elapsed)
                {
                    await Task.Delay(due - started.Elapsed, cancellationToken);
                }
            }

            await window.WaitAsync(cancellationToken);
            var key = MessageBody.Key(seq, options.Keys);
            // PublishAsync is called in sequence order (not awaited here): the producer keeps call order per partition.
            outstanding[seq] = Stopwatch.GetTimestamp();
            pending.Add(CompleteAsync(seq, key, producer.PublishAsync(Message.FromText(MessageBody.Create(producerId, seq, options.BodySize), key), cancellationToken)));
        }

        await Task.WhenAll(pending);

        async Task CompleteAsync(long seq, string key, ValueTask<PublishReceipt> publish)
        {
            try
            {
                var receipt = await publish;
                _acked[(producerId, seq)] = 0;
                Interlocked.Increment(ref _ok);
                history.Append(new PublishRecord(producerId, seq, options.Topic, key, PublishOutcome.Ok, receipt.Partition, receipt.Offset));
            }
            catch (Exception ex)
            {
                var outcome = PublishErrors.Classify(ex);
                Interlocked.Increment(ref outcome == PublishOutcome.Failed ? ref _failed : ref _unknown);
                history.Append(new PublishRecord(producerId, seq, options.Topic, key, outcome, Error: PublishErrors.Describe(ex)));
            }
            finally
            {
                outstanding.TryRemove(seq, out _);
                Interlocked.Exchange(ref lastCompletion, Stopwatch.GetTimestamp());
                window.Release();
            }
        }
    }

    private async Task ConsumeAsync(IOrleansMQClient mq, SubscriptionPlan plan, string consumerId, HistoryFile<DeliveryRecord> history, CancellationToken stop)
    {
        var seen = _seen[plan.Name];
        var type = plan.Type.ToString();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var consumer = mq.CreateConsumer(options.Topic, plan.Name, new ConsumerOptions { ConsumerId = consumerId, Prefetch = 100, PollWait = TimeSpan.FromSeconds(1) });
                await foreach (var d in consumer.ConsumeAsync(stop))
                {
                    var body = d.BodyAsString();
                    var parsed = MessageBody.TryParse(body, out var producer, out var seq, out var intact);
                    history.Append(new DeliveryRecord(plan.Name, type, consumerId, d.Topic, d.Partition, d.Offset, d.Message.Key,
                        parsed ? producer : null, parsed ? seq : -1, intact, d.DeliveryCount));
                    Interlocked.Increment(ref _deliveries);
                    if (parsed)
                    {
                        seen[(producer, seq)] = 0;
                    }

                    try
                    {
                        await d.AckAsync(stop);
                    }
                    catch (Exception) when (!stop.IsCancellationRequested)
                    {
                        // The message comes back (lease expiry / cursor not committed): a redelivery, which the checker allows.
                        Interlocked.Increment(ref _ackErrors);
                    }
                }
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _consumerErrors);
                output.WriteLine($"consumer {consumerId}: {PublishErrors.Describe(ex)}; reconnecting");
                await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            }
            catch (Exception ex) when (stop.IsCancellationRequested)
            {
                // Stopping: the consumer's dispose may surface the last poll failure; the history is complete anyway.
                if (ex is not OperationCanceledException)
                {
                    output.WriteLine($"consumer {consumerId}: {PublishErrors.Describe(ex)} while stopping");
                }
            }
        }
    }

    private static async Task Retry(Func<Task> action, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(60) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(500, cancellationToken);
            }
        }
    }
}
