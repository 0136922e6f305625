using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;
using OrleansMQ.Client;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq queue create|list|describe|delete</c>: a queue is a topic kept until acked plus a Shared subscription "queue".</summary>
internal static class QueueCommands
{
    private const string Subscription = IOrleansMQAdmin.QueueSubscription;

    public static Command Create()
    {
        var defaults = new QueueSpec();

        var name = QueueArgument();
        var partitions = new Option<int>("--partitions", "-p") { HelpName = "n", Description = "Partitions (more parallelism; order only per partition/key).", DefaultValueFactory = _ => defaults.Partitions };
        var ackTimeout = new DurationOption("--ack-timeout", "Visibility timeout: how long a consumer holds a message before it comes back.", defaults.AckTimeout);
        var maxDeliveries = new Option<int>("--max-deliveries") { HelpName = "n", Description = "Deliveries before a message is dead-lettered to {queue}.queue.dlq (0 = never).", DefaultValueFactory = _ => defaults.MaxDeliveries };
        var nackBackoff = new DurationOption("--nack-backoff", "Delay before a nacked message is redelivered (doubles per attempt, up to 60 s).", defaults.NackBackoffInitial);
        var maxMessageBytes = new Option<long?>("--max-message-bytes") { HelpName = "size", Description = "Largest message, e.g. 1MiB (default) up to 16MiB.", CustomParser = OptionParsers.OptionalByteSize };
        var create = new Command("create", "Create a queue (no-op when it exists with the same definition).")
        {
            name, partitions, ackTimeout, maxDeliveries, nackBackoff, maxMessageBytes,
        }.Handle(async (ctx, ct) =>
        {
            var queue = Names.Validate(ctx.Get(name), "queue");
            var spec = new QueueSpec
            {
                Partitions = ctx.Get(partitions),
                AckTimeout = ctx.Get(ackTimeout),
                MaxDeliveries = ctx.Get(maxDeliveries),
                NackBackoffInitial = ctx.Get(nackBackoff),
                MaxMessageBytes = TopicCommands.ToInt(ctx.Get(maxMessageBytes) ?? defaults.MaxMessageBytes, "--max-message-bytes"),
            };
            var broker = await ctx.ConnectAsync(ct);
            await broker.Client.Admin.CreateQueueAsync(queue, spec, ct);
            Show(ctx.Output, await DescribeAsync(broker, queue, ct));
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List queues with their backlog, in-flight, consumer and dead-lettered counts.").Handle(async (ctx, ct) =>
        {
            var broker = await ctx.ConnectAsync(ct);
            var queues = (await TopicCommands.ListAsync(broker, ct)).Where(t => t.Spec.IsQueue && t.Subscriptions.ContainsKey(Subscription));
            IReadOnlyList<QueueSummaryView> views = await Task.WhenAll(queues.Select(async q =>
            {
                var (backlog, inFlight, consumers, deadLettered) = ViewMapper.Totals(await broker.Client.Admin.GetSubscriptionStatsAsync(q.Name, Subscription, ct));
                return new QueueSummaryView(q.Name, q.Spec.Partitions, backlog, inFlight, consumers, deadLettered);
            }));
            if (ctx.Output.Json)
            {
                ctx.Output.WriteJson(views, CliJsonContext.Default.IReadOnlyListQueueSummaryView);
                return ExitCodes.Ok;
            }

            var table = Tables.Create("Queue", "#Partitions", "#Backlog", "#In flight", "#Consumers", "#Dead-lettered");
            foreach (var q in views)
            {
                table.Row(q.Name, q.Partitions, q.Backlog, q.InFlight, q.Consumers, q.DeadLettered);
            }

            ctx.Output.Write(table);
            return ExitCodes.Ok;
        });
        list.Aliases.Add("ls");

        var describeName = QueueArgument();
        var describe = new Command("describe", "Show a queue's settings, backlog, in-flight messages, consumers and dead letters.") { describeName }
            .Handle(async (ctx, ct) =>
            {
                var queue = Names.Validate(ctx.Get(describeName), "queue");
                var broker = await ctx.ConnectAsync(ct);
                Show(ctx.Output, await DescribeAsync(broker, queue, ct));
                return ExitCodes.Ok;
            });

        var deleteName = QueueArgument();
        var withDlq = new Option<bool>("--with-dlq") { Description = "Also delete the queue's dead-letter topic." };
        var delete = new Command("delete", "Delete a queue and its messages.") { deleteName, withDlq }
            .Handle((ctx, ct) => TopicCommands.DeleteAsync(ctx, Names.Validate(ctx.Get(deleteName), "queue"), "queue", ctx.Get(withDlq), ct));

        return new Command("queue", "Queues: competing consumers, per-message acks, redelivery and dead letters.") { create, list, describe, delete };
    }

    private static Argument<string> QueueArgument() => new("name") { Description = "The queue." };

    private static async Task<QueueView> DescribeAsync(BrokerConnection broker, string queue, CancellationToken ct)
    {
        var admin = broker.Client.Admin;
        var info = await admin.GetTopicAsync(queue, ct);
        if (!info.Spec.IsQueue || !info.Subscriptions.TryGetValue(Subscription, out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Queue '{queue}' does not exist ('{queue}' is a topic: use omq topic describe).");
        }

        var partitionsTask = admin.GetPartitionsAsync(queue, ct);
        var stats = await admin.GetSubscriptionStatsAsync(queue, Subscription, ct);
        var partitions = await partitionsTask;
        var (backlog, inFlight, consumers, deadLettered) = ViewMapper.Totals(stats);
        var dlq = spec.MaxDeliveries > 0 ? spec.DeadLetterTopicFor(queue, Subscription) : null;
        var dlqMessages = 0L;
        if (dlq is not null)
        {
            try
            {
                dlqMessages = (await admin.GetPartitionsAsync(dlq, ct)).Sum(p => p.HighWatermark - p.LowWatermark);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
            {
                // Someone deleted the dead-letter topic; it has no messages.
            }
        }

        return new QueueView(
            queue, info.CreatedAt, info.Spec.Partitions, Durations.Format(spec.AckTimeout), spec.MaxDeliveries,
            Durations.Format(spec.NackBackoffInitial), info.Spec.MaxMessageBytes, dlq,
            partitions.Sum(p => p.HighWatermark - p.LowWatermark), partitions.Sum(p => p.SizeBytes),
            backlog, inFlight, consumers, deadLettered, dlqMessages,
            [.. stats.OrderBy(s => s.Partition).Select(ViewMapper.Partition)]);
    }

    private static void Show(CliOutput output, QueueView view)
    {
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.QueueView);
            return;
        }

        output.Write(Tables.Heading($"queue {view.Name}"));
        output.Write(Tables.Properties(
        [
            ("created", view.CreatedAt.ToString("u", CultureInfo.InvariantCulture)),
            ("partitions", view.Partitions),
            ("ack timeout", view.AckTimeout),
            ("max deliveries", view.MaxDeliveries == 0 ? "unlimited (never dead-letters)" : view.MaxDeliveries),
            ("nack backoff", view.NackBackoff),
            ("max message", ByteSizes.Format(view.MaxMessageBytes)),
            ("stored", $"{view.Messages.ToString(CultureInfo.InvariantCulture)} messages, {ByteSizes.Format(view.SizeBytes)}"),
            ("backlog", view.Backlog),
            ("in flight", view.InFlight),
            ("consumers", view.Consumers),
            ("dead-lettered", view.DeadLettered),
            ("dead-letter topic", view.DeadLetterTopic is null ? null : $"{view.DeadLetterTopic} ({view.DeadLetterMessages.ToString(CultureInfo.InvariantCulture)} messages)"),
        ]));
        output.Write(SubscriptionCommands.PartitionTable(view.PartitionStats));
    }
}
