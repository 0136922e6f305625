using System.CommandLine;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Cli.Parsing;
using OrleansMQ.Cli.Views;
using OrleansMQ.Load;
using Spectre.Console;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq bench</c>: publish N messages (at a rate or flat out) and consume them, with live progress and a latency summary.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var topic = new Option<string?>("--topic") { HelpName = "topic", Description = "The topic to load (created when missing, kept afterwards). Default: a new bench-… topic, deleted afterwards." };
        var messages = new Option<int>("--messages", "-n") { Description = "Messages to publish.", DefaultValueFactory = _ => 10_000 };
        var rate = new Option<int>("--rate") { Description = "Messages per second; 0 = as fast as --in-flight allows.", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = "Body bytes per message (16 or more).", DefaultValueFactory = _ => 100 };
        var partitions = new Option<int>("--partitions", "-p") { Description = "Partitions of the topic the run creates.", DefaultValueFactory = _ => 4 };
        var inFlight = new Option<int>("--in-flight") { Description = "Most publishes awaiting their receipt at once.", DefaultValueFactory = _ => 1000 };
        var timeout = new DurationOption("--timeout", "How long to wait for the last messages to be consumed after publishing.", TimeSpan.FromSeconds(60));
        return new Command("bench", "Load the cluster: publish messages and consume them, then print throughput and p50/p99 latency (HdrHistogram).")
        {
            topic, messages, rate, size, partitions, inFlight, timeout,
        }.Handle(async (ctx, ct) =>
        {
            var given = ctx.Get(topic);
            var settings = new BenchSettings(
                given is null ? "bench-" + Guid.NewGuid().ToString("N")[..8] : Names.Validate(given, "topic"),
                Positive(ctx.Get(messages), "--messages", 1, 100_000_000),
                Positive(ctx.Get(rate), "--rate", 0, 10_000_000),
                Positive(ctx.Get(size), "--size", 16, MessageLimits.DefaultMaxMessageBytes),
                Positive(ctx.Get(partitions), "--partitions", 1, 1024),
                Positive(ctx.Get(inFlight), "--in-flight", 1, 100_000),
                timeout.ValueIn(ctx.Parse));
            var broker = await ctx.ConnectAsync(ct);
            var run = new BenchRun(broker.Client, settings);
            BenchResult result;
            try
            {
                result = ctx.Output.Json ? await run.RunAsync(ct) : await WithProgressAsync(ctx.Output, run, settings, ct);
            }
            finally
            {
                if (given is null)
                {
                    await broker.Client.Admin.DeleteTopicAsync(settings.Topic, CancellationToken.None);
                }
            }

            Show(ctx.Output, result);
            if (result.Consumed < result.Published || result.PublishFailed > 0)
            {
                ctx.Output.Error($"only {result.Consumed} of {result.Published} published messages were consumed within {Durations.Format(settings.Timeout)}; {result.PublishFailed} publishes failed");
                return ExitCodes.Failure;
            }

            return ExitCodes.Ok;
        });
    }

    private static int Positive(int value, string option, int min, int max) =>
        value >= min && value <= max ? value : throw new OrleansMQException(ErrorCode.InvalidArgument, $"{option} is {value}; it must be {min}–{max}.");

    private static async Task<BenchResult> WithProgressAsync(CliOutput output, BenchRun run, BenchSettings settings, CancellationToken ct)
    {
        BenchResult? result = null;
        await output.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var published = progress.AddTask("published", maxValue: settings.Messages);
                var consumed = progress.AddTask("consumed", maxValue: settings.Messages);
                var running = run.RunAsync(ct);
                while (!running.IsCompleted)
                {
                    published.Value = run.Published;
                    consumed.Value = run.Consumed;
                    await Task.WhenAny(running, Task.Delay(100, ct));
                }

                result = await running;
                published.Value = result.Published;
                consumed.Value = result.Consumed;
            });
        return result!;
    }

    private static void Show(CliOutput output, BenchResult r)
    {
        if (output.Json)
        {
            output.WriteJson(r, CliJsonContext.Default.BenchResult);
            return;
        }

        output.Write(Tables.Heading($"bench {r.Topic}"));
        output.Write(Tables.Properties(
        [
            ("messages", $"{r.Messages:N0} × {r.Size} B on {r.Partitions} partition(s), {(r.TargetRate > 0 ? $"at {r.TargetRate:N0} msg/s" : "flat out")}"),
            ("published", $"{r.Published:N0} ({r.PublishFailed:N0} failed)"),
            ("consumed", $"{r.Consumed:N0}"),
            ("duration", r.Seconds.ToString("0.00 s", CultureInfo.InvariantCulture)),
            ("throughput", $"{r.PublishRate:N0} msg/s published, {r.ConsumeRate:N0} msg/s consumed"),
        ]));
        var table = Tables.Create("Latency (ms)", "p50", "p90", "p99", "p99.9", "max", "mean");
        table.Row("publish → durable receipt", r.PublishLatency.P50, r.PublishLatency.P90, r.PublishLatency.P99, r.PublishLatency.P999, r.PublishLatency.Max, r.PublishLatency.Mean);
        table.Row("end to end (send → receive)", r.EndToEndLatency.P50, r.EndToEndLatency.P90, r.EndToEndLatency.P99, r.EndToEndLatency.P999, r.EndToEndLatency.Max, r.EndToEndLatency.Mean);
        output.Write(table);
    }
}
