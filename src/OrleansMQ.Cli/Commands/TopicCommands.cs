using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;
using OrleansMQ.Client;
using Spectre.Console;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq topic create|list|describe|delete</c>.</summary>
internal static class TopicCommands
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The topic." };

        var partitions = new Option<int>("--partitions", "-p") { HelpName = "n", Description = "Partitions (1–1024).", DefaultValueFactory = _ => 1 };
        var retentionAge = new OptionalDurationOption("--retention-age", "Delete messages older than this (e.g. 7d, 12h); none = no age limit.", RetentionPolicy.Default.MaxAge);
        var retentionBytes = new Option<long?>("--retention-bytes")
        {
            HelpName = "size",
            Description = "Delete the oldest messages once a partition holds more than this (e.g. 10GiB). Default: no size limit.",
            CustomParser = OptionParsers.OptionalByteSize,
        };
        var maxMessageBytes = new Option<long?>("--max-message-bytes")
        {
            HelpName = "size",
            Description = "Largest message (body + key + headers), e.g. 1MiB (default) up to 16MiB.",
            CustomParser = OptionParsers.OptionalByteSize,
        };
        var dedupWindow = new OptionalDurationOption("--dedup-window", "De-duplicate messages by id within this window (up to 7d). Default: off.", defaultValue: null);
        var messageTtl = new OptionalDurationOption("--message-ttl", "Messages without their own TTL expire after this long. Default: never.", defaultValue: null);
        var expiredToDlq = new Option<bool>("--expired-to-dlq") { Description = "Expired messages go to the subscriptions' dead-letter topics instead of being dropped." };
        var create = new Command("create", "Create a topic (no-op when it exists with the same definition).")
        {
            name, partitions, retentionAge, retentionBytes, maxMessageBytes, dedupWindow, messageTtl, expiredToDlq,
        }.Handle(async (ctx, ct) =>
        {
            var topic = Names.Validate(ctx.Get(name), "topic");
            var spec = new TopicSpec
            {
                Partitions = ctx.Get(partitions),
                Retention = new RetentionPolicy { MaxAge = ctx.Get(retentionAge), MaxBytes = ctx.Get(retentionBytes) },
                MaxMessageBytes = ToInt(ctx.Get(maxMessageBytes) ?? MessageLimits.DefaultMaxMessageBytes, "--max-message-bytes"),
                DeduplicationWindow = ctx.Get(dedupWindow),
                MessageTtl = ctx.Get(messageTtl),
                ExpiredToDeadLetter = ctx.Get(expiredToDlq),
            };
            spec.Validate(topic);
            var broker = await ctx.ConnectAsync(ct);
            await broker.Client.Admin.CreateTopicAsync(topic, spec, ct);
            Show(ctx.Output, await DescribeAsync(broker, topic, ct));
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List topics and queues (dead-letter topics included).").Handle(async (ctx, ct) =>
        {
            var broker = await ctx.ConnectAsync(ct);
            var topics = await ListAsync(broker, ct);
            IReadOnlyList<TopicSummaryView> views =
                [.. topics.Select(t => new TopicSummaryView(t.Name, ViewMapper.Kind(t), t.Spec.Partitions, [.. t.Subscriptions.Keys.Order(StringComparer.Ordinal)], t.CreatedAt))];
            if (ctx.Output.Json)
            {
                ctx.Output.WriteJson(views, CliJsonContext.Default.IReadOnlyListTopicSummaryView);
                return ExitCodes.Ok;
            }

            var table = Tables.Create("Name", "Kind", "#Partitions", "Subscriptions", "Created");
            foreach (var t in views)
            {
                table.Row(t.Name, t.Kind, t.Partitions, t.Subscriptions.Count == 0 ? "-" : string.Join(", ", t.Subscriptions), t.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
            }

            ctx.Output.Write(table);
            return ExitCodes.Ok;
        });
        list.Aliases.Add("ls");

        var describeName = new Argument<string>("name") { Description = "The topic." };
        var describe = new Command("describe", "Show a topic's definition, partitions (offsets, size, backlog) and subscriptions.")
        {
            describeName,
        }.Handle(async (ctx, ct) =>
        {
            var topic = Names.Validate(ctx.Get(describeName), "topic");
            var broker = await ctx.ConnectAsync(ct);
            Show(ctx.Output, await DescribeAsync(broker, topic, ct));
            return ExitCodes.Ok;
        });

        var deleteName = new Argument<string>("name") { Description = "The topic." };
        var withDlq = new Option<bool>("--with-dlq") { Description = "Also delete the dead-letter topics of its subscriptions." };
        var delete = new Command("delete", "Delete a topic with its subscriptions and messages.") { deleteName, withDlq }
            .Handle((ctx, ct) => DeleteAsync(ctx, Names.Validate(ctx.Get(deleteName), "topic"), "topic", ctx.Get(withDlq), ct));

        return new Command("topic", "Topics: durable, partitioned logs that subscriptions read at their own pace.") { create, list, describe, delete };
    }

    /// <summary>Every topic's info (topics deleted while listing are left out).</summary>
    internal static async Task<IReadOnlyList<TopicInfo>> ListAsync(BrokerConnection broker, CancellationToken ct)
    {
        var names = await broker.Client.Admin.ListTopicsAsync(ct);
        var infos = await Task.WhenAll(names.Select(async n =>
        {
            try
            {
                return await broker.Client.Admin.GetTopicAsync(n, ct);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
            {
                return null;
            }
        }));
        return [.. infos.OfType<TopicInfo>()];
    }

    internal static async Task<TopicView> DescribeAsync(BrokerConnection broker, string topic, CancellationToken ct)
    {
        var admin = broker.Client.Admin;
        var info = await admin.GetTopicAsync(topic, ct);
        var partitionsTask = admin.GetPartitionsAsync(topic, ct);
        var subscriptions = await Task.WhenAll(info.Subscriptions.OrderBy(s => s.Key, StringComparer.Ordinal).Select(async s =>
            ViewMapper.Summary(topic, s.Key, s.Value, await admin.GetSubscriptionStatsAsync(topic, s.Key, ct))));
        var partitions = (await partitionsTask).Select(ViewMapper.Partition).ToList();
        return new TopicView(
            info.Name, ViewMapper.Kind(info), info.CreatedAt, ViewMapper.Spec(info.Spec),
            partitions.Sum(p => p.Messages), partitions.Sum(p => p.SizeBytes), partitions.Sum(p => p.Backlog),
            partitions, subscriptions);
    }

    /// <summary>Deletes a topic or queue, and with <paramref name="withDlq"/> its subscriptions' dead-letter topics.</summary>
    internal static async Task<int> DeleteAsync(CommandContext ctx, string topic, string kind, bool withDlq, CancellationToken ct)
    {
        var broker = await ctx.ConnectAsync(ct);
        var admin = broker.Client.Admin;
        var info = await admin.GetTopicAsync(topic, ct);
        if (kind == "queue" && !info.Spec.IsQueue)
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Queue '{topic}' does not exist ('{topic}' is a topic: use omq topic delete).");
        }

        await admin.DeleteTopicAsync(topic, ct);
        var alsoDeleted = new List<string>();
        if (withDlq)
        {
            foreach (var (subscription, spec) in info.Subscriptions.Where(s => s.Value.MaxDeliveries > 0))
            {
                var dlq = spec.DeadLetterTopicFor(topic, subscription);
                try
                {
                    await admin.DeleteTopicAsync(dlq, ct);
                    alsoDeleted.Add(dlq);
                }
                catch (OrleansMQException ex) when (ex.Code == ErrorCode.NotFound)
                {
                }
            }
        }

        if (ctx.Output.Json)
        {
            ctx.Output.WriteJson(new DeletedView(kind, topic, alsoDeleted), CliJsonContext.Default.DeletedView);
        }
        else
        {
            ctx.Output.WriteLine($"deleted {kind} {topic}" + (alsoDeleted.Count > 0 ? $" and {string.Join(", ", alsoDeleted)}" : ""));
        }

        return ExitCodes.Ok;
    }

    internal static int ToInt(long value, string option) => value <= int.MaxValue
        ? (int)value
        : throw new OrleansMQException(ErrorCode.InvalidArgument, $"{option} {value} is too large; the limit is {MessageLimits.AbsoluteMaxMessageBytes} bytes.");

    private static void Show(CliOutput output, TopicView view)
    {
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.TopicView);
            return;
        }

        output.Write(Tables.Heading($"{view.Kind} {view.Name}"));
        output.Write(Tables.Properties(
        [
            ("created", view.CreatedAt.ToString("u", CultureInfo.InvariantCulture)),
            ("partitions", view.Spec.Partitions),
            ("retention", Retention(view.Spec)),
            ("max message", ByteSizes.Format(view.Spec.MaxMessageBytes)),
            ("max backlog", $"{view.Spec.MaxBacklogMessages.ToString(CultureInfo.InvariantCulture)} messages / {ByteSizes.Format(view.Spec.MaxBacklogBytes)} per partition"),
            ("de-duplication", view.Spec.DeduplicationWindow is { } window ? "by message id within " + window : "off"),
            ("message TTL", view.Spec.MessageTtl is { } ttl ? ttl + (view.Spec.ExpiredToDeadLetter ? ", expired messages are dead-lettered" : ", expired messages are dropped") : "none"),
            ("messages", view.Messages),
            ("size", ByteSizes.Format(view.SizeBytes)),
            ("backlog", view.Backlog),
        ]));
        output.Write(PartitionTable(view.Partitions));
        if (view.Subscriptions.Count == 0)
        {
            output.WriteLine("no subscriptions");
        }
        else
        {
            output.Write(SubscriptionCommands.SummaryTable(view.Subscriptions));
        }
    }

    internal static Table PartitionTable(IEnumerable<PartitionView> partitions)
    {
        var table = Tables.Create("#Partition", "#Low", "#High", "#Messages", "#Size", "#Backlog");
        foreach (var p in partitions)
        {
            table.Row(p.Partition, p.LowWatermark, p.HighWatermark, p.Messages, ByteSizes.Format(p.SizeBytes), p.Backlog);
        }

        return table;
    }

    private static string Retention(TopicSpecView spec)
    {
        var parts = new List<string>();
        if (spec.RetainUntilAcknowledged)
        {
            parts.Add("until acknowledged");
        }

        if (spec.RetentionAge is { } age)
        {
            parts.Add("age " + age);
        }

        if (spec.RetentionBytes is { } bytes)
        {
            parts.Add(ByteSizes.Format(bytes) + " per partition");
        }

        return parts.Count == 0 ? "forever" : string.Join(", ", parts);
    }
}
