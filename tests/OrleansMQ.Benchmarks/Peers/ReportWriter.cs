using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Benchmarks.Peers;

/// <summary>Writes <c>report.json</c> (everything), <c>report.md</c> (tables per workload, the targets) and the plots.</summary>
internal static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the report files and returns their paths.</summary>
    public static IReadOnlyList<string> Write(string directory, ReportMetadata meta, IReadOnlyList<WorkloadResult> results)
    {
        Directory.CreateDirectory(directory);
        var json = Path.Combine(directory, "report.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new { meta, results }, Json));
        var plots = ReportPlots.Write(directory, results);
        var md = Path.Combine(directory, "report.md");
        File.WriteAllText(md, Markdown(meta, results, plots));
        return [md, json, .. plots];
    }

    /// <summary>The console summary of one row.</summary>
    public static string OneLine(WorkloadResult r) => r.Skipped is { } reason
        ? $"skipped: {reason}"
        : r.DrainRate is { } drain
            ? $"backlog publish {Rate(r.BacklogPublishRate ?? 0)}/s, drain {Rate(drain)}/s in {r.DrainSeconds:0.0} s, broker CPU {r.BrokerCpuPercent:0}%, RSS max {r.BrokerRssMaxMB:0} MB{Problems(r)}"
            : $"publish {Rate(r.PublishRate)}/s, consume {Rate(r.ConsumeRate)}/s, publish {r.PublishLatency?.ToString() ?? "-"} ms, e2e {r.EndToEndLatency?.ToString() ?? "-"} ms, broker CPU {r.BrokerCpuPercent:0}%, RSS max {r.BrokerRssMaxMB:0} MB{Problems(r)}";

    private static string Problems(WorkloadResult r)
    {
        var problems = new List<string>();
        if (r.Missing > 0)
        {
            problems.Add($"{r.Missing:N0} not delivered");
        }

        if (r.PublishErrors > 0)
        {
            problems.Add($"{r.PublishErrors:N0} publish errors ({r.FirstError})");
        }

        if (r.Duplicates > 0)
        {
            problems.Add($"{r.Duplicates:N0} duplicates");
        }

        return problems.Count == 0 ? "" : "; " + string.Join("; ", problems);
    }

    private static string Markdown(ReportMetadata meta, IReadOnlyList<WorkloadResult> results, IReadOnlyList<string> plots)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# OrleansMQ vs peers: {meta.Mode} run, {meta.StartedUtc:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        if (meta.Note is { Length: > 0 } note)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"> {note}");
            md.AppendLine();
        }

        var ran = results.Where(r => r.Skipped is null).ToList();
        var foreign = ran.Count == 0 ? 0 : ran.Average(r => r.ForeignLoadPercent);
        md.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {meta.Machine}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Runtime: {meta.Runtime}; clients: {string.Join(", ", meta.Clients.Select(c => $"{c.Key} {c.Value}"))}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Load from other processes during the measured windows: mean {foreign:0} % of the machine (max {(ran.Count == 0 ? 0 : ran.Max(r => r.ForeignLoadPercent)):0} %): {(foreign > 10 ? "**a loaded machine; treat the figures as indicative only**" : "quiet")}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Took {meta.ElapsedSeconds:0} s. Command: `{meta.Command}`");
        md.AppendLine("- Every broker ran as a child process of the harness on 127.0.0.1 with a fresh temporary data directory, and shared the machine with the harness (producers and consumers).");
        md.AppendLine();

        md.AppendLine("## Servers and durability");
        md.AppendLine();
        md.AppendLine("| server | version / settings | started in | status |");
        md.AppendLine("|---|---|---|---|");
        foreach (var s in meta.Servers)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Name} | {s.Description} | {s.StartSeconds:0.0} s | {(s.Skipped is { } why ? "**skipped**: " + why : "ran")} |");
        }

        md.AppendLine();
        md.AppendLine("| driver | fsync before ack | what an acknowledged publish means |");
        md.AppendLine("|---|---|---|");
        foreach (var d in ran.GroupBy(r => r.Driver).Select(g => g.First()))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {d.Driver} | {(d.FsyncBeforeAck ? "yes" : "**no**")} | {d.Durability} |");
        }

        md.AppendLine();
        Targets(md, ran);
        foreach (var workload in results.GroupBy(r => r.Workload))
        {
            WorkloadTable(md, workload.Key, [.. workload]);
        }

        if (plots.Count > 0)
        {
            md.AppendLine("## Plots");
            md.AppendLine();
            foreach (var plot in plots)
            {
                var name = Path.GetFileName(plot);
                md.AppendLine(CultureInfo.InvariantCulture, $"![{name}]({name})");
                md.AppendLine();
            }
        }

        md.AppendLine("## How to read this");
        md.AppendLine();
        md.AppendLine("- Fixed-rate rows measure latency from each message's *intended* send time (start + i/rate), so stalls of the sender count (coordinated omission corrected). Max-rate rows measure from the actual send.");
        md.AppendLine("- publish = until the broker acknowledged (see durability); e2e = until a consumer received it. Latencies are p50 / p99 / p99.9 / max in ms.");
        md.AppendLine("- broker CPU is the broker's process tree (from /proc/<pid>/stat) in % of one core over the measured window; RSS max is its resident memory (process tree); foreign = machine busy minus broker and harness.");
        md.AppendLine("- RabbitMQ queues are not partitioned: `partitionsPerTopic` applies to OrleansMQ (partitions), Redis (a stream per partition) and NATS (a subject per partition in one stream).");
        return md.ToString();
    }

    private static void Targets(StringBuilder md, List<WorkloadResult> ran)
    {
        md.AppendLine("## Targets (issue 7), at equal durability (fsync before ack)");
        md.AppendLine();
        static WorkloadResult? Ours(List<WorkloadResult> rows, string workload) => rows.FirstOrDefault(r => r.Workload == workload && r.Driver == "OrleansMQ");
        static List<WorkloadResult> Peers(List<WorkloadResult> rows, string workload) => [.. rows.Where(r => r.Workload == workload && r.Driver != "OrleansMQ" && r.FsyncBeforeAck)];

        var ours = Ours(ran, "W2-max-throughput-100B");
        var bestThroughput = Peers(ran, "W2-max-throughput-100B").MaxBy(r => r.PublishRate);
        md.AppendLine(ours is null || bestThroughput is null
            ? "- W2 100 B max durable publish throughput: not measured in this run."
            : $"- W2 100 B max durable publish throughput: OrleansMQ {Rate(ours.PublishRate)}/s vs best fsync-before-ack peer {bestThroughput.Driver} {Rate(bestThroughput.PublishRate)}/s: " +
              (ours.PublishRate >= bestThroughput.PublishRate ? "**met**" : $"**missed** ({ours.PublishRate / bestThroughput.PublishRate:0.00}×)"));
        var oursLatency = Ours(ran, "W1-fixed-rate-100B");
        var bestLatency = Peers(ran, "W1-fixed-rate-100B").Where(r => r.EndToEndLatency is not null && r.Missing == 0).MinBy(r => r.EndToEndLatency!.P99);
        md.AppendLine(oursLatency?.EndToEndLatency is null || bestLatency is null
            ? "- W1 100 B end-to-end p99 at the fixed rate: not measured in this run."
            : $"- W1 100 B end-to-end p99 at {oursLatency.ProducerRate:N0} msg/s: OrleansMQ {oursLatency.EndToEndLatency.P99:0.##} ms vs best fsync-before-ack peer {bestLatency.Driver} {bestLatency.EndToEndLatency!.P99:0.##} ms: " +
              (oursLatency.EndToEndLatency.P99 <= bestLatency.EndToEndLatency.P99 ? "**met**" : $"**missed** ({oursLatency.EndToEndLatency.P99 / bestLatency.EndToEndLatency.P99:0.0}× the peer's p99)"));
        md.AppendLine();
    }

    private static void WorkloadTable(StringBuilder md, string name, List<WorkloadResult> rows)
    {
        var first = rows.FirstOrDefault(r => r.Skipped is null) ?? rows[0];
        md.AppendLine(CultureInfo.InvariantCulture, $"## {name}");
        md.AppendLine();
        md.AppendLine(first.DrainRate is not null
            ? $"{first.Topics:N0} topic(s), {first.MessageSize} B: a backlog of {first.Sent:N0} messages published at max rate with no consumer running, then drained by one consumer."
            : $"{first.Topics:N0} topic(s), {first.MessageSize} B, rate {(first.ProducerRate == 0 ? "max" : first.ProducerRate.ToString("N0", CultureInfo.InvariantCulture) + " msg/s")}, measured {first.MeasuredSeconds:0.#} s.");
        md.AppendLine();
        if (rows.Any(r => r.DrainRate is not null))
        {
            md.AppendLine("| driver | fsync | backlog publish msg/s | drain msg/s | drain time | broker CPU | RSS max while draining | foreign | notes |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in rows)
            {
                md.AppendLine(r.Skipped is { } why
                    ? $"| {r.Driver} | | | | | | | | {why} |"
                    : $"| {r.Driver} | {YesNo(r)} | {Rate(r.BacklogPublishRate ?? 0)} | {Rate(r.DrainRate ?? 0)} | {r.DrainSeconds:0.0} s | {r.BrokerCpuPercent:0} % | {r.BrokerRssMaxMB:0} MB | {r.ForeignLoadPercent:0} % | {Notes(r)} |");
            }
        }
        else
        {
            var nacks = rows.Any(r => r.Nacks is not null);
            var perTopic = first.Topics > 1;
            md.AppendLine("| driver | fsync | publish msg/s | MB/s | consume msg/s | publish p50 / p99 / p99.9 / max | e2e p50 / p99 / p99.9 / max | broker CPU | RSS max |"
                + (perTopic ? " RSS per topic |" : "") + (nacks ? " nacks | redelivery p50 / p99 / max | duplicates |" : "") + " foreign | notes |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|" + (perTopic ? "---|" : "") + (nacks ? "---|---|---|" : "") + "---|---|");
            foreach (var r in rows)
            {
                if (r.Skipped is { } why)
                {
                    md.AppendLine($"| {r.Driver} |" + string.Concat(Enumerable.Repeat(" |", 9 + (perTopic ? 1 : 0) + (nacks ? 3 : 0))) + $" {why} |");
                    continue;
                }

                var line = $"| {r.Driver} | {YesNo(r)} | {Rate(r.PublishRate)} | {r.PublishMBps:0.0} | {Rate(r.ConsumeRate)} | {r.PublishLatency?.ToString() ?? "-"} | {r.EndToEndLatency?.ToString() ?? "-"} | {r.BrokerCpuPercent:0} % | {r.BrokerRssMaxMB:0} MB |";
                if (perTopic)
                {
                    line += $" {r.RssPerTopicKiB:0.#} KiB |";
                }

                if (nacks)
                {
                    line += $" {r.Nacks:N0} | {(r.RedeliveryLatency is { } rl ? $"{rl.P50:0.##} / {rl.P99:0.##} / {rl.Max:0.##} ms" : "-")} | {r.Duplicates:N0} |";
                }

                md.AppendLine(line + $" {r.ForeignLoadPercent:0} % | {Notes(r)} |");
            }
        }

        md.AppendLine();
    }

    private static string YesNo(WorkloadResult r) => r.FsyncBeforeAck ? "yes" : "no";

    private static string Notes(WorkloadResult r) => Problems(r).TrimStart(';', ' ') is { Length: > 0 } p ? p.Replace("|", "/", StringComparison.Ordinal) : "";

    /// <summary>12,345 or 1.23M.</summary>
    public static string Rate(double perSecond) => perSecond >= 1_000_000
        ? (perSecond / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + "M"
        : perSecond.ToString("N0", CultureInfo.InvariantCulture);
}
