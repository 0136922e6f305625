using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Views;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq publish</c>: messages from arguments, a file or stdin (one per line, or the whole input as one), to a topic or
/// through an exchange. Publishes are pipelined (the producer batches what is in flight) and receipts are printed in
/// input order.
/// </summary>
internal static class PublishCommand
{
    /// <summary>How many publishes may be awaiting their receipt at once.</summary>
    private const int MaxInFlight = 1000;

    private const string TextContentType = "text/plain; charset=utf-8";

    public static Command Create()
    {
        var args = new Argument<string[]>("topic-and-messages")
        {
            Description = "The topic, then the messages (each argument is one message). With --exchange, every argument is a message.",
            HelpName = "topic [message...]",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var file = new Option<string?>("--file", "-f") { Description = "Read messages from this file, one per line ('-' = stdin).", HelpName = "path" };
        var whole = new Option<bool>("--whole") { Description = "Publish the whole file or stdin as one message, bytes as they are (binary-safe)." };
        var key = new Option<string?>("--key", "-k") { HelpName = "key", Description = "Message key: messages with one key go to one partition, in order." };
        var headers = new Option<Dictionary<string, string>>("--header", "-H")
        {
            Description = "A header name=value (repeatable).",
            HelpName = "name=value",
            Arity = ArgumentArity.ZeroOrMore,
            CustomParser = OptionParsers.Headers,
        };
        var contentType = new Option<string?>("--content-type") { HelpName = "type", Description = "MIME content type (default text/plain; charset=utf-8 for text, none with --whole)." };
        var exchange = new Option<string?>("--exchange", "-x") { HelpName = "exchange", Description = "Publish through this exchange instead of to a topic." };
        var routingKey = new Option<string?>("--routing-key", "-r") { HelpName = "key", Description = "The routing key for --exchange." };
        var delay = new Option<TimeSpan?>("--delay")
        {
            HelpName = "duration",
            Description = "Deliver no earlier than this after publishing (e.g. 30s, 2h, 7d; durable, no upper bound; Shared and KeyShared subscriptions).",
            CustomParser = OptionParsers.OptionalDuration,
        };

        return new Command("publish", "Publish messages to a topic or queue (or through an exchange); prints where each landed.")
        {
            args, file, whole, key, headers, contentType, exchange, routingKey, delay,
        }.Handle(async (ctx, ct) =>
        {
            var values = ctx.Get(args) ?? [];
            var exchangeName = ctx.Get(exchange);
            var target = exchangeName ?? (values.Length > 0 ? values[0] : throw new UsageException("publish needs a topic (or --exchange NAME)."));
            var texts = exchangeName is null ? values[1..] : values;
            var path = ctx.Get(file);
            if (texts.Length > 0 && path is not null)
            {
                throw new UsageException("give messages as arguments or with --file, not both.");
            }

            if (ctx.Get(routingKey) is not null && exchangeName is null)
            {
                throw new UsageException("--routing-key only applies with --exchange.");
            }

            if (ctx.Get(whole) && texts.Length > 0)
            {
                throw new UsageException("--whole reads a file or stdin, not arguments.");
            }

            Names.Validate(target, exchangeName is null ? "topic" : "exchange");
            var template = new Message
            {
                Key = ctx.Get(key),
                Headers = ctx.Get(headers) is { Count: > 0 } h ? h : null,
                ContentType = ctx.Get(contentType) ?? (ctx.Get(whole) ? null : TextContentType),
            };
            if (ctx.Get(delay) is { } wait)
            {
                template = template.WithDelay(wait);
            }
            var messages = texts.Length > 0
                ? FromArguments(texts, template)
                : FromInput(path, ctx.Get(whole), template, ct);

            var broker = await ctx.ConnectAsync(ct);
            if (exchangeName is null)
            {
                await using var producer = broker.Client.CreateProducer(target);
                await PublishAllAsync(messages, m => producer.PublishAsync(m, ct).AsTask(),
                    r => Print(ctx.Output, ViewMapper.Receipt(target, r)));
            }
            else
            {
                var rk = ctx.Get(routingKey) ?? "";
                await using var producer = broker.Client.CreateExchangeProducer(exchangeName);
                await PublishAllAsync(messages, m => producer.PublishAsync(rk, m, ct).AsTask(),
                    r => Print(ctx.Output, new RoutedReceiptView(exchangeName, rk, r.Alternate, [.. r.Deliveries.Select(d => ViewMapper.Receipt(d.Topic, d.Receipt))])));
            }

            return ExitCodes.Ok;
        });
    }

    /// <summary>
    /// Publishes every message, at most <see cref="MaxInFlight"/> at a time, printing receipts in input order. After a
    /// failure no further message is read; those already in flight are awaited (and printed), then the first error is thrown.
    /// </summary>
    private static async Task PublishAllAsync<TReceipt>(IAsyncEnumerable<Message> messages, Func<Message, Task<TReceipt>> publish, Action<TReceipt> print)
    {
        var pending = new Queue<Task<TReceipt>>();
        Exception? failure = null;

        async Task CompleteOldestAsync()
        {
            try
            {
                print(await pending.Dequeue());
            }
            catch (Exception ex)
            {
                // Only the first failure is reported.
                failure ??= ex;
            }
        }

        await foreach (var message in messages)
        {
            Task<TReceipt> receipt;
            try
            {
                receipt = publish(message);
            }
            catch (Exception ex)
            {
                receipt = Task.FromException<TReceipt>(ex);
            }

            pending.Enqueue(receipt);
            while (pending.Count > 0 && (pending.Count >= MaxInFlight || pending.Peek().IsCompleted))
            {
                await CompleteOldestAsync();
            }

            if (failure is not null)
            {
                break;
            }
        }

        while (pending.Count > 0)
        {
            await CompleteOldestAsync();
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    private static async IAsyncEnumerable<Message> FromArguments(string[] texts, Message template)
    {
        foreach (var text in texts)
        {
            yield return template with { Body = Encoding.UTF8.GetBytes(text) };
        }

        await Task.CompletedTask;
    }

    /// <summary>Lines (empty ones skipped) or the whole content of a file or stdin.</summary>
    private static async IAsyncEnumerable<Message> FromInput(string? path, bool whole, Message template, [EnumeratorCancellation] CancellationToken ct)
    {
        var stream = path is null or "-" ? Console.OpenStandardInput() : File.OpenRead(path);
        await using (stream)
        {
            if (whole)
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, ct);
                yield return template with { Body = buffer.ToArray() };
                yield break;
            }

            using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.Length > 0)
                {
                    yield return template with { Body = Encoding.UTF8.GetBytes(line) };
                }
            }
        }
    }

    private static void Print(CliOutput output, PublishReceiptView r)
    {
        if (output.Json)
        {
            output.WriteJsonLine(r, CliJsonContext.Lines.PublishReceiptView);
        }
        else
        {
            output.WriteLine($"published to {r.Topic} partition {r.Partition} offset {r.Offset}" + (r.Duplicate ? " (duplicate)" : ""));
        }
    }

    private static void Print(CliOutput output, RoutedReceiptView r)
    {
        if (output.Json)
        {
            output.WriteJsonLine(r, CliJsonContext.Lines.RoutedReceiptView);
        }
        else if (r.Deliveries.Count == 0)
        {
            output.WriteLine($"routed by {r.Exchange} ({r.RoutingKey}) to nowhere");
        }
        else
        {
            var where = string.Join(", ", r.Deliveries.Select(d => $"{d.Topic} partition {d.Partition} offset {d.Offset}"));
            output.WriteLine($"routed by {r.Exchange} ({r.RoutingKey}) to {where}" + (r.Alternate ? " (alternate: no binding matched)" : ""));
        }
    }
}
