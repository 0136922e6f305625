using System.CommandLine;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq exchange create|list|describe|delete</c>, <c>omq bind</c> and <c>omq unbind</c>.</summary>
internal static class ExchangeCommands
{
    public static Command Create()
    {
        var name = ExchangeArgument();
        var type = new Option<string>("--type", "-t")
        {
            Description = "direct (key = binding key), topic (patterns with * and #), headers (match headers, all or any) or fanout (every binding).",
            DefaultValueFactory = _ => "direct",
        }.AcceptOnlyFromAmong(Words.ExchangeTypes);
        var alternateTopic = new Option<string?>("--alternate-topic") { HelpName = "topic", Description = "Where messages no binding matches go (a topic or queue)." };
        var alternateExchange = new Option<string?>("--alternate-exchange") { HelpName = "exchange", Description = "Or: another exchange for them (same routing key)." };
        var create = new Command("create", "Create an exchange (no-op when it exists with the same definition).")
        {
            name, type, alternateTopic, alternateExchange,
        }.Handle(async (ctx, ct) =>
        {
            var exchange = ctx.Get(name);
            var spec = new ExchangeSpec
            {
                Type = Words.ExchangeType(ctx.Get(type)),
                AlternateTopic = ctx.Get(alternateTopic),
                AlternateExchange = ctx.Get(alternateExchange),
            };
            spec.Validate(exchange);
            var broker = await ctx.ConnectAsync(ct);
            Show(ctx.Output, await broker.Client.Admin.CreateExchangeAsync(exchange, spec, ct));
            return ExitCodes.Ok;
        });

        var describeName = ExchangeArgument();
        var describe = new Command("describe", "Show an exchange and its bindings.") { describeName }.Handle(async (ctx, ct) =>
        {
            var exchange = Names.Validate(ctx.Get(describeName), "exchange");
            var broker = await ctx.ConnectAsync(ct);
            Show(ctx.Output, await broker.Client.Admin.GetExchangeAsync(exchange, ct));
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List exchanges with their type and number of bindings.").Handle(async (ctx, ct) =>
        {
            var broker = await ctx.ConnectAsync(ct);
            var names = await broker.Client.Admin.ListExchangesAsync(ct);
            var infos = await Task.WhenAll(names.Select(n => broker.Client.Admin.GetExchangeAsync(n, ct)));
            IReadOnlyList<ExchangeSummaryView> views =
                [.. infos.Select(i => new ExchangeSummaryView(i.Name, Words.Of(i.Spec.Type), i.Bindings.Count, i.Spec.AlternateTopic, i.Spec.AlternateExchange))];
            if (ctx.Output.Json)
            {
                ctx.Output.WriteJson(views, CliJsonContext.Default.IReadOnlyListExchangeSummaryView);
                return ExitCodes.Ok;
            }

            var table = Tables.Create("Name", "Type", "#Bindings", "Alternate");
            foreach (var x in views)
            {
                table.Row(x.Name, x.Type, x.Bindings, x.AlternateTopic is { } t ? "topic " + t : x.AlternateExchange is { } a ? "exchange " + a : null);
            }

            ctx.Output.Write(table);
            return ExitCodes.Ok;
        });
        list.Aliases.Add("ls");

        var deleteName = ExchangeArgument();
        var delete = new Command("delete", "Delete an exchange (its destinations are untouched).") { deleteName }.Handle(async (ctx, ct) =>
        {
            var exchange = Names.Validate(ctx.Get(deleteName), "exchange");
            var broker = await ctx.ConnectAsync(ct);
            await broker.Client.Admin.DeleteExchangeAsync(exchange, ct);
            if (ctx.Output.Json)
            {
                ctx.Output.WriteJson(new DeletedView("exchange", exchange, []), CliJsonContext.Default.DeletedView);
            }
            else
            {
                ctx.Output.WriteLine($"deleted exchange {exchange}");
            }

            return ExitCodes.Ok;
        });

        return new Command("exchange", "Exchanges: route published messages to topics and queues by routing key or headers.") { create, list, describe, delete };
    }

    /// <summary><c>omq bind</c> or <c>omq unbind</c> (same arguments, so unbind finds the binding).</summary>
    public static Command CreateBinding(bool bind)
    {
        var exchange = ExchangeArgument();
        var destination = new Argument<string>("destination") { Description = "The topic or queue." };
        var key = new Option<string>("--key", "-k")
        {
            HelpName = "key",
            Description = "direct: the routing key; topic: a pattern (orders.*.created, #.eu). Ignored by headers and fanout.",
            DefaultValueFactory = _ => "",
        };
        var headers = new Option<Dictionary<string, string>>("--header", "-H")
        {
            Description = "headers exchanges: a header name=value to match (repeatable).",
            HelpName = "name=value",
            Arity = ArgumentArity.ZeroOrMore,
            CustomParser = OptionParsers.Headers,
        };
        var match = new Option<string>("--match")
        {
            Description = "headers exchanges: all headers must match, or any one.",
            DefaultValueFactory = _ => "all",
        }.AcceptOnlyFromAmong(Words.HeaderMatches);
        var filter = new Option<string?>("--filter")
        {
            HelpName = "expression",
            Description = "A content filter applied after the match, e.g. \"body.amount > 100 && headers.currency == 'EUR'\".",
        };

        return new Command(bind ? "bind" : "unbind", bind
            ? "Bind an exchange to a topic or queue; every later publish through it, on any silo, routes by it."
            : "Remove a binding (give the same key, headers, match and filter as when binding; its transforms are found for you).")
        {
            exchange, destination, key, headers, match, filter,
        }.Handle(async (ctx, ct) =>
        {
            var e = Names.Validate(ctx.Get(exchange), "exchange");
            var binding = new Binding
            {
                Destination = Names.Validate(ctx.Get(destination), "destination"),
                Key = ctx.Get(key) ?? "",
                Headers = ctx.Get(headers) is { Count: > 0 } h ? h : null,
                Match = Words.HeadersMatch(ctx.Get(match)),
                Filter = ctx.Get(filter),
            };
            var broker = await ctx.ConnectAsync(ct);
            var info = bind
                ? await broker.Client.Admin.BindAsync(e, binding, ct)
                : await broker.Client.Admin.UnbindAsync(e, await FindBindingAsync(broker, e, binding, ct), ct);
            Show(ctx.Output, info);
            return ExitCodes.Ok;
        });
    }

    private static Argument<string> ExchangeArgument() => new("exchange") { Description = "The exchange." };

    /// <summary>
    /// The exchange's binding that equals <paramref name="wanted"/> apart from its transforms (which the command line
    /// cannot spell), so bindings made through the API with transforms can be removed too.
    /// </summary>
    private static async Task<Binding> FindBindingAsync(BrokerConnection broker, string exchange, Binding wanted, CancellationToken ct)
    {
        var info = await broker.Client.Admin.GetExchangeAsync(exchange, ct);
        var matches = info.Bindings.Where(b => b with { Transforms = null } == wanted).ToList();
        return matches.Count switch
        {
            0 => throw new OrleansMQException(ErrorCode.NotFound,
                $"Exchange '{exchange}' has no binding to '{wanted.Destination}' with key '{wanted.Key}' and those headers, match and filter (omq exchange describe {exchange})."),
            1 => matches[0],
            _ => throw new OrleansMQException(ErrorCode.InvalidArgument,
                $"Exchange '{exchange}' has {matches.Count} such bindings to '{wanted.Destination}' that differ only in their transforms; remove them through the API."),
        };
    }

    private static void Show(CliOutput output, ExchangeInfo info)
    {
        var view = ViewMapper.Exchange(info);
        if (output.Json)
        {
            output.WriteJson(view, CliJsonContext.Default.ExchangeView);
            return;
        }

        output.Write(Tables.Heading($"exchange {view.Name}"));
        output.Write(Tables.Properties(
        [
            ("type", view.Type),
            ("alternate", view.AlternateTopic is { } t ? "topic " + t : view.AlternateExchange is { } x ? "exchange " + x : "none (unroutable messages are refused)"),
            ("bindings", view.Bindings.Count),
        ]));
        if (view.Bindings.Count == 0)
        {
            return;
        }

        var table = Tables.Create("Destination", "Key", "Headers", "Match", "Filter", "Transforms");
        foreach (var b in view.Bindings)
        {
            table.Row(b.Destination, b.Key.Length == 0 ? null : b.Key,
                b.Headers is { Count: > 0 } h ? string.Join(", ", h.Select(kv => $"{kv.Key}={kv.Value}")) : null,
                b.Headers is { Count: > 0 } ? b.Match : null,
                b.Filter,
                b.Transforms is { } steps ? string.Join(" → ", steps) : null);
        }

        output.Write(table);
    }
}
