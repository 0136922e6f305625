using System.Diagnostics;
using System.Globalization;
using System.Net.Mime;
using System.Text.Json;
using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.OrderProcessing;

/// <summary>
/// The order-processing walkthrough, end to end and non-interactive:
/// <list type="number">
/// <item>a topic exchange <c>shop</c> routes <c>orders.eu.created</c> to the queue <c>orders-eu</c> and
/// <c>orders.us.created</c> to <c>orders-us</c>, each binding enriching the order (a user transform from DI) and wrapping
/// it in a CloudEvents envelope; <c>orders.*.created</c> also goes, untransformed, to the topic <c>orders-audit</c>;</item>
/// <item>a subscriber grain per region processes its queue; orders with a product missing from the catalog fail and,
/// after the queue's delivery limit, land in the queue's dead-letter topic;</item>
/// <item>the catalog is fixed, the dead letters are re-driven, the processors accept them, and a summary is printed
/// and checked. Exit code 0 only when every check held.</item>
/// </list>
/// </summary>
internal static class OrderFlow
{
    public const string Exchange = "shop";
    public const string AuditTopic = "orders-audit";
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(90);

    public static string Queue(string region) => $"orders-{region}";

    public static string DeadLetterTopic(string region) => $"{Queue(region)}.{IOrleansMQAdmin.QueueSubscription}.dlq";

    public static async Task<int> RunAsync(int orderCount, string? dataDirectory, CancellationToken cancellationToken)
    {
        var temporary = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "omq-orders", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        try
        {
            var clock = Stopwatch.StartNew();
            await using var broker = await EmbeddedBroker.StartAsync(dataDirectory, cancellationToken);
            Console.WriteLine($"silo started in {clock.Elapsed.TotalSeconds:0.0} s (gateway 127.0.0.1:{broker.GatewayPort}, data in {dataDirectory})");
            return await RunFlowAsync(broker, orderCount, cancellationToken);
        }
        finally
        {
            if (temporary)
            {
                TryDelete(dataDirectory);
            }
        }
    }

    private static async Task<int> RunFlowAsync(EmbeddedBroker broker, int orderCount, CancellationToken cancellationToken)
    {
        var mq = broker.Client;
        var failures = new List<string>();

        // --- topology: queues per region, an audit topic, the exchange and its bindings, a subscriber grain per queue.
        foreach (var region in OrderEvents.ProcessedRegions)
        {
            await mq.Admin.CreateQueueAsync(Queue(region), new QueueSpec
            {
                Partitions = 2,
                MaxDeliveries = 3,
                NackBackoffInitial = TimeSpan.FromMilliseconds(200),
                AckTimeout = TimeSpan.FromSeconds(30),
            }, cancellationToken);
        }

        await mq.Admin.CreateTopicAsync(AuditTopic, new TopicSpec { Partitions = 1 }, cancellationToken);
        await mq.Admin.CreateExchangeAsync(Exchange, new ExchangeSpec { Type = ExchangeType.Topic }, cancellationToken);
        foreach (var region in OrderEvents.ProcessedRegions)
        {
            await mq.Admin.BindAsync(Exchange, new Binding
            {
                Destination = Queue(region),
                Key = OrderEvents.RoutingKey(region),
                Transforms =
                [
                    TransformStep.SetHeader("region", region),
                    TransformStep.Custom(OrderEnrichment.Name),
                    TransformStep.CloudEventsWrap(OrderEvents.Source, OrderEvents.CreatedType),
                ],
            }, cancellationToken);
            await mq.Admin.SetSubscriberAsync(Queue(region), IOrleansMQAdmin.QueueSubscription, broker.Grains.GetGrain<IOrderProcessorGrain>(region), cancellationToken);
        }

        await mq.Admin.BindAsync(Exchange, new Binding { Destination = AuditTopic, Key = "orders.*.created" }, cancellationToken);
        Console.WriteLine($"exchange '{Exchange}' (topic): orders.eu.created → {Queue("eu")}, orders.us.created → {Queue("us")} (enrich-order + CloudEvents wrap), orders.*.created → {AuditTopic}");

        // --- publish: one message per order through the exchange; the receipt says where each went.
        var orders = OrderEvents.Generate(orderCount).ToList();
        var routed = new Dictionary<string, int>(StringComparer.Ordinal);
        await using (var producer = mq.CreateExchangeProducer(Exchange))
        {
            var receipts = await Task.WhenAll(orders.Select(o => producer.PublishAsync(OrderEvents.RoutingKey(o.Region), new Message(JsonSerializer.SerializeToUtf8Bytes(o, OrderEvents.Json))
            {
                Key = o.CustomerId,
                MessageId = o.OrderId,
                ContentType = MediaTypeNames.Application.Json,
            }, cancellationToken).AsTask()));
            foreach (var delivery in receipts.SelectMany(r => r.Deliveries))
            {
                routed[delivery.Topic] = routed.GetValueOrDefault(delivery.Topic) + 1;
            }
        }

        var byRegion = orders.GroupBy(o => o.Region).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        Console.WriteLine($"published {orders.Count} orders: {string.Join(", ", byRegion.Select(kv => $"{kv.Key} {kv.Value}"))}; routed: {string.Join(", ", routed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}");

        // --- first pass: every order is either processed or dead-lettered (after MaxDeliveries refusals).
        var first = await SettleAsync(broker, r => routed.GetValueOrDefault(Queue(r)), (s, dead) => s.Processed + dead, cancellationToken);
        foreach (var region in OrderEvents.ProcessedRegions)
        {
            var (summary, dead) = first[region];
            Console.WriteLine($"{region}: processed {summary.Processed}, refused {summary.RefusedDeliveries} deliveries, dead-lettered {dead} → {DeadLetterTopic(region)}");
            if (dead > 0)
            {
                var letter = (await broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(DeadLetterTopic(region), 0)).ReadAsync(0, 1, 1 << 20)).Messages.FirstOrDefault();
                Console.WriteLine($"{region}: dead letter: {letter?.MessageId} reason \"{letter?.Headers.GetValueOrDefault(Headers.DeadLetterReason)}\"");
            }
        }

        if (first["eu"].Summary.FirstEnvelope is { } envelope)
        {
            Console.WriteLine($"eu: an order as the processor got it: {envelope}");
        }

        // --- fix and re-drive: the product arrives in the catalog; the dead letters go back to their queues.
        broker.Catalog.Add(OrderEvents.NewProduct);
        Console.WriteLine($"catalog: added {OrderEvents.NewProduct}; re-driving the dead letters");
        var redriven = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var region in OrderEvents.ProcessedRegions)
        {
            redriven[region] = await mq.Admin.RedriveAsync(Queue(region), IOrleansMQAdmin.QueueSubscription, cancellationToken: cancellationToken);
        }

        var second = await SettleAsync(broker, r => routed.GetValueOrDefault(Queue(r)), (s, _) => s.Processed, cancellationToken);

        // --- summary and checks.
        var audited = (await mq.Admin.GetPartitionsAsync(AuditTopic, cancellationToken)).Sum(p => p.HighWatermark);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"summary: published {orders.Count}, audited {audited}, apac {byRegion.GetValueOrDefault("apac")} (audit only)"));
        Check(failures, audited == orders.Count, $"every order is in {AuditTopic} ({audited} of {orders.Count})");
        foreach (var region in OrderEvents.ProcessedRegions)
        {
            var (summary, _) = second[region];
            var (_, dead) = first[region];
            var inQueue = routed.GetValueOrDefault(Queue(region));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"summary: {region} routed {inQueue}, processed {summary.Processed} ({summary.ProcessedAfterRedrive} after re-drive), dead-lettered {dead}, re-driven {redriven[region]}, revenue {summary.Revenue:0.00} {(region == "us" ? "USD" : "EUR")}"));
            Check(failures, inQueue == byRegion.GetValueOrDefault(region), $"{region}: every {region} order was routed to {Queue(region)}");
            Check(failures, summary.Processed == inQueue, $"{region}: every order processed once ({summary.Processed} of {inQueue})");
            Check(failures, redriven[region] == dead && summary.ProcessedAfterRedrive == dead, $"{region}: each dead letter re-driven and processed ({summary.ProcessedAfterRedrive} of {dead})");
        }

        var deadTotal = OrderEvents.ProcessedRegions.Sum(r => first[r].DeadLettered);
        var expectedDead = orders.Count(o => OrderEvents.ProcessedRegions.Contains(o.Region) && o.Lines.Any(l => l.Sku == OrderEvents.NewProduct));
        Console.WriteLine($"summary: dead-lettered {deadTotal}, re-driven {redriven.Values.Sum()}");
        Check(failures, deadTotal == expectedDead, $"exactly the orders with {OrderEvents.NewProduct} were dead-lettered ({deadTotal} of {expectedDead})");

        foreach (var f in failures)
        {
            Console.Error.WriteLine($"FAILED: {f}");
        }

        Console.WriteLine(failures.Count == 0 ? "orders: all checks passed" : $"orders: {failures.Count} checks failed");
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Polls the processors and dead-letter topics until <paramref name="settled"/> reaches the number of orders routed to
    /// each region's queue (or <see cref="SettleTimeout"/> passes; the checks then report what is missing).
    /// </summary>
    private static async Task<Dictionary<string, (OrderProcessingSummary Summary, long DeadLettered)>> SettleAsync(
        EmbeddedBroker broker, Func<string, int> expected, Func<OrderProcessingSummary, long, long> settled, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var state = new Dictionary<string, (OrderProcessingSummary, long)>(StringComparer.Ordinal);
            foreach (var region in OrderEvents.ProcessedRegions)
            {
                var summary = await broker.Grains.GetGrain<IOrderProcessorGrain>(region).GetSummaryAsync();
                var dead = (await broker.Client.Admin.GetPartitionsAsync(DeadLetterTopic(region), cancellationToken)).Sum(p => p.HighWatermark);
                state[region] = (summary, dead);
            }

            if (OrderEvents.ProcessedRegions.All(r => settled(state[r].Item1, state[r].Item2) >= expected(r)) || deadline.Elapsed > SettleTimeout)
            {
                return state;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private static void Check(List<string> failures, bool condition, string what)
    {
        Console.WriteLine($"{(condition ? "ok  " : "FAIL")} {what}");
        if (!condition)
        {
            failures.Add(what);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {ex.Message}");
        }
    }
}
