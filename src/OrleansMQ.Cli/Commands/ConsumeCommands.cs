using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Views;
using OrleansMQ.Client;
using Spectre.Console;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq consume</c> (a durable subscription) and <c>omq tail</c> (a temporary one at the end of the topic).</summary>
internal static class ConsumeCommands
{
    /// <summary>
    /// Long polls are kept short so that leaving (count reached, idle timeout, Ctrl+C) is quick: the consumer waits for
    /// its outstanding polls when it is disposed.
    /// </summary>
    private static readonly TimeSpan PollWait = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(15);

    private const string NackReason = "nacked by omq consume --ack nack";

    private enum AckMode
    {
        Auto,
        None,
        Nack,
    }

    public static Command CreateConsume()
    {
        var topic = SubscriptionCommands.TopicArgument();
        var subscription = new Argument<string?>("subscription")
        {
            Description = "The subscription (may be left out for a queue).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var count = CountOption();
        var timeout = new OptionalDurationOption("--timeout", "Stop when no message arrived for this long; none = wait forever.", TimeSpan.FromSeconds(10));
        var ack = new Option<string>("--ack")
        {
            Description = "auto: ack each message after printing it; none: leave it unacked (it comes back after the ack timeout); nack: nack it (redelivery, then dead letter).",
            DefaultValueFactory = _ => "auto",
        }.AcceptOnlyFromAmong("auto", "none", "nack");

        return new Command("consume", "Print messages of a subscription (JSON lines with --output json) and ack, nack or leave them.")
        {
            topic, subscription, count, timeout, ack,
        }.Handle(async (ctx, ct) =>
        {
            var t = Names.Validate(ctx.Get(topic), "topic");
            var s = ctx.Get(subscription);
            if (s is not null)
            {
                Names.Validate(s, "subscription");
            }

            var mode = Enum.Parse<AckMode>(ctx.Get(ack), ignoreCase: true);
            var broker = await ctx.ConnectAsync(ct);
            s ??= await QueueSubscriptionAsync(broker, t, ct);
            return await ConsumeAsync(ctx, broker, t, s, ctx.Get(count), ctx.Get(timeout), mode, ct);
        });
    }

    public static Command CreateTail()
    {
        var topic = new Argument<string>("topic") { Description = "The topic." };
        var count = CountOption();
        var timeout = new OptionalDurationOption("--timeout", "Stop when no message arrived for this long (default: run until Ctrl+C).", defaultValue: null);

        return new Command("tail", "Print new messages of a topic as they arrive, from a temporary Exclusive subscription that is deleted on exit.")
        {
            topic, count, timeout,
        }.Handle(async (ctx, ct) =>
        {
            var t = Names.Validate(ctx.Get(topic), "topic");
            var broker = await ctx.ConnectAsync(ct);
            var s = $"omq-tail-{Guid.NewGuid():N}"[..21];
            await broker.Client.Admin.CreateSubscriptionAsync(t, s, new SubscriptionSpec
            {
                Type = SubscriptionType.Exclusive,
                Start = StartPosition.Latest,
                MaxDeliveries = 0, // no dead-letter topic to leave behind
            }, ct);
            try
            {
                ctx.Output.Note($"tailing {t} from its end through temporary subscription {s}; Ctrl+C to stop");
                return await ConsumeAsync(ctx, broker, t, s, ctx.Get(count), ctx.Get(timeout), AckMode.Auto, ct);
            }
            finally
            {
                using var cleanup = new CancellationTokenSource(SettleTimeout);
                try
                {
                    await broker.Client.Admin.DeleteSubscriptionAsync(t, s, cleanup.Token);
                }
                catch (Exception ex) when (ex is OrleansMQException or OrleansException or TimeoutException or OperationCanceledException)
                {
                    ctx.Output.Error($"could not delete the temporary subscription ({ex.Message}); delete it with: omq sub delete {t} {s}");
                }
            }
        });
    }

    private static Option<int?> CountOption() => new("--count", "-n") { HelpName = "n", Description = "Stop after this many messages." };

    private static async Task<string> QueueSubscriptionAsync(BrokerConnection broker, string topic, CancellationToken ct)
    {
        var info = await broker.Client.Admin.GetTopicAsync(topic, ct);
        return info.Spec.IsQueue
            ? IOrleansMQAdmin.QueueSubscription
            : throw new UsageException($"'{topic}' is a topic, not a queue: name the subscription (omq sub list {topic}).");
    }

    private static async Task<int> ConsumeAsync(
        CommandContext ctx, BrokerConnection broker, string topic, string subscription, int? count, TimeSpan? idleTimeout, AckMode mode, CancellationToken ct)
    {
        if (count is < 1)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"--count {count} must be ≥ 1.");
        }

        // MaxMessages: with --count N the consumer never leases more than N (prefetch alone is split per partition, at
        // least one each); a message leased and left unsettled at exit would come back with a delivery attempt burnt.
        var options = new ConsumerOptions { Prefetch = Math.Clamp(count ?? 100, 1, 100), PollWait = PollWait, MaxMessages = count };
        var received = 0;
        var settles = new List<Task>();
        await using (var consumer = broker.Client.CreateConsumer(topic, subscription, options))
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Restart(idle, idleTimeout);
            try
            {
                await foreach (var delivery in consumer.ConsumeAsync(idle.Token))
                {
                    Print(ctx.Output, ViewMapper.Message(delivery.Message, delivery.Delivered));
                    received++;
                    // Settled without the command's token: after Ctrl+C the acks of what was printed still go out.
                    settles.Add(mode switch
                    {
                        AckMode.Auto => delivery.AckAsync(CancellationToken.None),
                        AckMode.Nack => delivery.NackAsync(NackReason, CancellationToken.None),
                        _ => Task.CompletedTask,
                    });
                    settles.RemoveAll(s => s.IsCompletedSuccessfully);
                    if (received == count)
                    {
                        break;
                    }

                    Restart(idle, idleTimeout);
                }
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
                // Idle timeout or Ctrl+C: the normal way for consume to end.
            }

            await Task.WhenAll(settles).WaitAsync(SettleTimeout, CancellationToken.None);
        }

        if (!ctx.Output.Json)
        {
            ctx.Output.Note($"{received.ToString(CultureInfo.InvariantCulture)} message(s) " + mode switch
            {
                AckMode.Auto => "received and acked",
                AckMode.Nack => "received and nacked",
                _ => "received, not acked",
            });
        }

        return ExitCodes.Ok;
    }

    private static void Restart(CancellationTokenSource idle, TimeSpan? timeout)
    {
        if (timeout is { } t)
        {
            idle.CancelAfter(t);
        }
    }

    /// <summary>A message for people (header line, headers, body) or as one JSON line.</summary>
    internal static void Print(CliOutput output, MessageView m)
    {
        if (output.Json)
        {
            output.WriteJsonLine(m, CliJsonContext.Lines.MessageView);
            return;
        }

        var title = $"{m.Topic} [{m.Partition.ToString(CultureInfo.InvariantCulture)}] @{m.Offset.ToString(CultureInfo.InvariantCulture)}";
        var details = new List<string> { m.Timestamp.ToString("u", CultureInfo.InvariantCulture) };
        if (m.Key is not null)
        {
            details.Add("key " + m.Key);
        }

        if (m.DeliveryCount is { } deliveries)
        {
            details.Add("delivery " + deliveries.ToString(CultureInfo.InvariantCulture));
        }

        output.Console.MarkupLine($"[bold]{Markup.Escape(title)}[/]  [grey]{Markup.Escape(string.Join("  ", details))}[/]");
        foreach (var (name, value) in m.Headers)
        {
            output.Console.MarkupLine($"  [grey]{Markup.Escape(name)}:[/] {Markup.Escape(value)}");
        }

        output.WriteLine(m.BodyEncoding == "utf8" ? m.Body : $"(base64) {m.Body}");
    }
}
