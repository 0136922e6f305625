using System.CommandLine;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;
using Spectre.Console;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq sub create|list|describe|seek|reset|delete</c>.</summary>
internal static class SubscriptionCommands
{
    public static Command Create()
    {
        var defaults = new SubscriptionSpec();

        var topic = TopicArgument();
        var name = SubscriptionArgument();
        var type = new Option<string>("--type", "-t")
        {
            Description = "exclusive (one consumer), failover (one active per partition), shared (competing, per-message ack) or keyshared (competing, ordered per key).",
            DefaultValueFactory = _ => Words.Of(defaults.Type),
        }.AcceptOnlyFromAmong(Words.SubscriptionTypes);
        var start = new PositionOption("--start", "Where it starts: earliest, latest, offset:N, time:ISO-8601 or ago:DURATION.", defaults.Start);
        var ackTimeout = new DurationOption("--ack-timeout", "Shared/KeyShared: how long a consumer holds a message before it is redelivered.", defaults.AckTimeout);
        var maxDeliveries = new Option<int>("--max-deliveries")
        {
            HelpName = "n",
            Description = "Deliveries before a message is dead-lettered (0 = never, and no dead-letter topic).",
            DefaultValueFactory = _ => defaults.MaxDeliveries,
        };
        var nackBackoff = new DurationOption("--nack-backoff", "Delay before a nacked message is redelivered (doubles per attempt).", defaults.NackBackoffInitial);
        var nackBackoffMax = new DurationOption("--nack-backoff-max", "The longest nack backoff.", defaults.NackBackoffMax);
        var consumerTimeout = new DurationOption("--consumer-timeout", "How long a silent consumer keeps its messages and partitions.", defaults.ConsumerTimeout);
        var deadLetterTopic = new Option<string?>("--dead-letter-topic") { HelpName = "topic", Description = "The dead-letter topic (default {topic}.{subscription}.dlq)." };
        var create = new Command("create", "Create a durable subscription (no-op when it exists with the same definition).")
        {
            topic, name, type, start, ackTimeout, maxDeliveries, nackBackoff, nackBackoffMax, consumerTimeout, deadLetterTopic,
        }.Handle(async (ctx, ct) =>
        {
            var (t, s) = Validate(ctx, topic, name);
            var spec = new SubscriptionSpec
            {
                Type = Words.SubscriptionType(ctx.Get(type)),
                Start = ctx.Get(start),
                AckTimeout = ctx.Get(ackTimeout),
                MaxDeliveries = ctx.Get(maxDeliveries),
                NackBackoffInitial = ctx.Get(nackBackoff),
                NackBackoffMax = ctx.Get(nackBackoffMax),
                ConsumerTimeout = ctx.Get(consumerTimeout),
                DeadLetterTopic = ctx.Get(deadLetterTopic),
            };
            spec.Validate(t, s);
            var broker = await ctx.ConnectAsync(ct);
            await broker.Client.Admin.CreateSubscriptionAsync(t, s, spec, ct);
            Show(ctx.Output, await DescribeAsync(broker, t, s, ct));
            return ExitCodes.Ok;
        });

        var listTopic = TopicArgument();
        var list = new Command("list", "List a topic's subscriptions with their backlog, in-flight and consumer counts.") { listTopic }
            .Handle(async (ctx, ct) =>
            {
                var t = Names.Validate(ctx.Get(listTopic), "topic");
                var broker = await ctx.ConnectAsync(ct);
                var view = await TopicCommands.DescribeAsync(broker, t, ct);
                if (ctx.Output.Json)
                {
                    ctx.Output.WriteJson(view.Subscriptions, CliJsonContext.Default.IReadOnlyListSubscriptionSummaryView);
                }
                else if (view.Subscriptions.Count == 0)
                {
                    ctx.Output.WriteLine($"topic {t} has no subscriptions");
                }
                else
                {
                    ctx.Output.Write(SummaryTable(view.Subscriptions));
                }

                return ExitCodes.Ok;
            });
        list.Aliases.Add("ls");

        var describeTopic = TopicArgument();
        var describeName = SubscriptionArgument();
        var describe = new Command("describe", "Show a subscription's definition and, per partition: ack floor, read position, backlog, in flight, consumers, dead-lettered.")
        {
            describeTopic, describeName,
        }.Handle(async (ctx, ct) =>
        {
            var (t, s) = Validate(ctx, describeTopic, describeName);
            var broker = await ctx.ConnectAsync(ct);
            Show(ctx.Output, await DescribeAsync(broker, t, s, ct));
            return ExitCodes.Ok;
        });

        var seekTopic = TopicArgument();
        var seekName = SubscriptionArgument();
        var position = new Argument<StartPosition?>("position")
        {
            Description = "earliest, latest, offset:N, time:ISO-8601 or ago:DURATION (on every partition).",
            CustomParser = OptionParsers.Position,
        };
        var seek = new Command("seek", "Move a subscription's cursor: replay from earliest, an offset or a time, or skip to latest.")
        {
            seekTopic, seekName, position,
        }.Handle((ctx, ct) => SeekAsync(ctx, seekTopic, seekName, ctx.Get(position)!, ct));

        var resetTopic = TopicArgument();
        var resetName = SubscriptionArgument();
        var reset = new Command("reset", "Replay a subscription from the earliest retained message (seek earliest).") { resetTopic, resetName }
            .Handle((ctx, ct) => SeekAsync(ctx, resetTopic, resetName, StartPosition.Earliest, ct));

        var deleteTopic = TopicArgument();
        var deleteName = SubscriptionArgument();
        var delete = new Command("delete", "Delete a subscription and its cursors (its dead-letter topic stays).") { deleteTopic, deleteName }
            .Handle(async (ctx, ct) =>
            {
                var (t, s) = Validate(ctx, deleteTopic, deleteName);
                var broker = await ctx.ConnectAsync(ct);
                await broker.Client.Admin.DeleteSubscriptionAsync(t, s, ct);
                if (ctx.Output.Json)
                {
                    ctx.Output.WriteJson(new DeletedView("subscription", s, []), CliJsonContext.Default.DeletedView);
                }
                else
                {
                    ctx.Output.WriteLine($"deleted subscription {s} on {t}");
                }

                return ExitCodes.Ok;
            });

        var command = new Command("sub", "Subscriptions: named cursors on a topic that consumers read through.") { create, list, describe, seek, reset, delete };
        command.Aliases.Add("subscription");
        return command;
    }

    internal static Argument<string> TopicArgument() => new("topic") { Description = "The topic (or queue)." };

    internal static Argument<string> SubscriptionArgument() => new("subscription") { Description = "The subscription." };

    internal static async Task<SubscriptionView> DescribeAsync(BrokerConnection broker, string topic, string subscription, CancellationToken ct)
    {
        var admin = broker.Client.Admin;
        var info = await admin.GetTopicAsync(topic, ct);
        if (!info.Subscriptions.TryGetValue(subscription, out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        var stats = await admin.GetSubscriptionStatsAsync(topic, subscription, ct);
        var (backlog, inFlight, consumers, deadLettered) = ViewMapper.Totals(stats);
        return new SubscriptionView(topic, subscription, ViewMapper.Spec(topic, subscription, spec), backlog, inFlight, consumers, deadLettered,
            [.. stats.OrderBy(s => s.Partition).Select(ViewMapper.Partition)]);
    }

    internal static Table SummaryTable(IEnumerable<SubscriptionSummaryView> subscriptions)
    {
        var table = Tables.Create("Subscription", "Type", "Start", "Ack timeout", "#Max deliveries", "Dead-letter topic", "#Backlog", "#In flight", "#Consumers", "#Dead-lettered");
        foreach (var s in subscriptions)
        {
            table.Row(s.Name, s.Spec.Type, s.Spec.Start, s.Spec.AckTimeout, s.Spec.MaxDeliveries, s.Spec.DeadLetterTopic, s.Backlog, s.InFlight, s.Consumers, s.DeadLettered);
        }

        return table;
    }

    internal static Table PartitionTable(IEnumerable<SubscriptionPartitionView> partitions)
    {
        var table = Tables.Create("#Partition", "#Ack floor", "#Read position", "#High", "#Backlog", "#In flight", "#Consumers", "#Dead-lettered", "#Delayed in memory");
        foreach (var p in partitions)
        {
            table.Row(p.Partition, p.AckFloor, p.ReadPosition, p.HighWatermark, p.Backlog, p.InFlight, p.Consumers, p.DeadLettered, p.ScheduledInMemory);
        }

        return table;
    }

    private static (string Topic, string Subscription) Validate(CommandContext ctx, Argument<string> topic, Argument<string> subscription) =>
        (Names.Validate(ctx.Get(topic), "topic"), Names.Validate(ctx.Get(subscription), "subscription"));

    private static async Task<int> SeekAsync(CommandContext ctx, Argument<string> topic, Argument<string> subscription, StartPosition position, CancellationToken ct)
    {
        var (t, s) = Validate(ctx, topic, subscription);
        var broker = await ctx.ConnectAsync(ct);
        await broker.Client.Admin.SeekAsync(t, s, position, ct);
        var view = new SeekView(t, s, StartPositions.Format(position));
        if (ctx.Output.Json)
        {
            ctx.Output.WriteJson(view, CliJsonContext.Default.SeekView);
        }
        else
        {
            ctx.Output.WriteLine($"moved subscription {s} on {t} to {view.Position}");
        }

        return ExitCodes.Ok;
    }

    private static void Show(CliOutput output, SubscriptionView view)
    {
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.SubscriptionView);
            return;
        }

        output.Write(Tables.Heading($"subscription {view.Name} on {view.Topic}"));
        output.Write(Tables.Properties(
        [
            ("type", view.Spec.Type),
            ("start", view.Spec.Start),
            ("ack timeout", view.Spec.AckTimeout),
            ("max deliveries", view.Spec.MaxDeliveries == 0 ? "unlimited (never dead-letters)" : view.Spec.MaxDeliveries),
            ("nack backoff", $"{view.Spec.NackBackoffInitial} doubling up to {view.Spec.NackBackoffMax}"),
            ("consumer timeout", view.Spec.ConsumerTimeout),
            ("dead-letter topic", view.Spec.DeadLetterTopic),
            ("transforms", view.Spec.Transforms is { } steps ? string.Join(" → ", steps) : null),
            ("backlog", view.Backlog),
            ("in flight", view.InFlight),
            ("consumers", view.Consumers),
            ("dead-lettered", view.DeadLettered),
        ]));
        output.Write(PartitionTable(view.Partitions));
    }
}
