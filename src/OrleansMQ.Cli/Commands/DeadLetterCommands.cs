using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Views;
using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq dlq list|redrive</c>: a subscription's dead-letter topic.</summary>
internal static class DeadLetterCommands
{
    private const int ReadBatch = 256;
    private const int ReadBytes = 4 << 20;

    public static Command Create()
    {
        var listTopic = SubscriptionCommands.TopicArgument();
        var listSubscription = OptionalSubscription();
        var listMax = new Option<int>("--max", "-n") { HelpName = "n", Description = "Show at most this many messages (oldest first).", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "Show dead-lettered messages with why they were dead-lettered and where they came from.")
        {
            listTopic, listSubscription, listMax,
        }.Handle(async (ctx, ct) =>
        {
            var (broker, topic, subscription, dlq) = await ResolveAsync(ctx, listTopic, listSubscription, ct);
            var max = ctx.Get(listMax);
            if (max < 1)
            {
                throw new OrleansMQException(ErrorCode.InvalidArgument, $"--max {max} must be ≥ 1.");
            }

            var (retained, messages) = await ReadAsync(broker, dlq, max, ct);
            var view = new DeadLetterListView(topic, subscription, dlq, retained, [.. messages.Select(ViewMapper.DeadLetter)]);
            Show(ctx.Output, view);
            return ExitCodes.Ok;
        });
        list.Aliases.Add("ls");

        var redriveTopic = SubscriptionCommands.TopicArgument();
        var redriveSubscription = OptionalSubscription();
        var redriveMax = new Option<int?>("--max", "-n") { HelpName = "n", Description = "Move at most this many messages (default: all)." };
        var redrive = new Command("redrive", "Move dead-lettered messages back to the topic and partition they came from (at least once).")
        {
            redriveTopic, redriveSubscription, redriveMax,
        }.Handle(async (ctx, ct) =>
        {
            var (broker, topic, subscription, _) = await ResolveAsync(ctx, redriveTopic, redriveSubscription, ct);
            var moved = await broker.Client.Admin.RedriveAsync(topic, subscription, ctx.Get(redriveMax) ?? int.MaxValue, ct);
            if (ctx.Output.Json)
            {
                ctx.Output.WriteJson(new RedriveView(topic, subscription, moved), CliJsonContext.Default.RedriveView);
            }
            else
            {
                ctx.Output.WriteLine($"re-drove {moved.ToString(CultureInfo.InvariantCulture)} message(s) to {topic}");
            }

            return ExitCodes.Ok;
        });

        return new Command("dlq", "Dead letters: messages a subscription gave up on after its max deliveries.") { list, redrive };
    }

    private static Argument<string?> OptionalSubscription() => new("subscription")
    {
        Description = "The subscription (may be left out for a queue).",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private static async Task<(BrokerConnection Broker, string Topic, string Subscription, string DeadLetterTopic)> ResolveAsync(
        CommandContext ctx, Argument<string> topicArgument, Argument<string?> subscriptionArgument, CancellationToken ct)
    {
        var topic = Names.Validate(ctx.Get(topicArgument), "topic");
        var subscription = ctx.Get(subscriptionArgument);
        if (subscription is not null)
        {
            Names.Validate(subscription, "subscription");
        }

        var broker = await ctx.ConnectAsync(ct);
        var info = await broker.Client.Admin.GetTopicAsync(topic, ct);
        if (subscription is null)
        {
            subscription = info.Spec.IsQueue
                ? IOrleansMQAdmin.QueueSubscription
                : throw new UsageException($"'{topic}' is a topic, not a queue: name the subscription (omq sub list {topic}).");
        }

        if (!info.Subscriptions.TryGetValue(subscription, out var spec))
        {
            throw new OrleansMQException(ErrorCode.NotFound, $"Subscription '{subscription}' on topic '{topic}' does not exist.");
        }

        return spec.MaxDeliveries > 0
            ? (broker, topic, subscription, spec.DeadLetterTopicFor(topic, subscription))
            : throw new OrleansMQException(ErrorCode.InvalidOperation,
                $"Subscription '{subscription}' on '{topic}' never dead-letters (max deliveries 0), so it has no dead-letter topic.");
    }

    /// <summary>
    /// Reads the dead-letter topic's partitions from their low watermarks without consuming anything (no subscription
    /// is involved), so listing never changes what a later re-drive moves.
    /// </summary>
    private static async Task<(long Retained, List<StoredMessage> Messages)> ReadAsync(BrokerConnection broker, string dlq, int max, CancellationToken ct)
    {
        var partitions = await broker.Client.Admin.GetPartitionsAsync(dlq, ct);
        var messages = new List<StoredMessage>();
        foreach (var partition in partitions.OrderBy(p => p.Partition))
        {
            var grain = broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(dlq, partition.Partition));
            var from = partition.LowWatermark;
            while (messages.Count < max && from < partition.HighWatermark)
            {
                var read = await grain.ReadAsync(from, Math.Min(ReadBatch, max - messages.Count), ReadBytes).WaitAsync(ct);
                if (read.Messages.Count == 0)
                {
                    break;
                }

                messages.AddRange(read.Messages);
                from = read.Messages[^1].Offset + 1;
            }
        }

        return (partitions.Sum(p => p.HighWatermark - p.LowWatermark), messages);
    }

    private static void Show(CliOutput output, DeadLetterListView view)
    {
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.DeadLetterListView);
            return;
        }

        output.Write(Tables.Heading($"{view.DeadLetterTopic}: {view.Retained.ToString(CultureInfo.InvariantCulture)} message(s) retained, showing {view.Messages.Count.ToString(CultureInfo.InvariantCulture)}"));
        if (view.Messages.Count == 0)
        {
            return;
        }

        var table = Tables.Create("#Offset", "From", "#Deliveries", "Reason", "Key", "Body");
        foreach (var d in view.Messages)
        {
            var from = d.OriginalPartition is { } p ? $"{d.OriginalTopic} [{p.ToString(CultureInfo.InvariantCulture)}] @{d.OriginalOffset?.ToString(CultureInfo.InvariantCulture)}" : d.OriginalTopic;
            table.Row(d.Offset, from, d.DeliveryCount, d.Reason, d.Message.Key, Shorten(d.Message.BodyEncoding == "utf8" ? d.Message.Body : "(base64) " + d.Message.Body));
        }

        output.Write(table);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..59] + "…";
}
