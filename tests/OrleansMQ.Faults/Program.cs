using System.CommandLine;
using System.Globalization;
using OrleansMQ.Faults.Checking;
using OrleansMQ.Faults.History;
using OrleansMQ.Faults.Nemesis;
using OrleansMQ.Faults.Workload;
using OrleansMQ.Tests.AzureStorage;

// omq-faults: the fault-injection harness.
//   workload  publish and consume, logging histories (run by `run` as a child process)
//   check     check histories: lost / unexpected / corrupt / duplicates / order
//   run       scenarios against real silo-host processes with a seeded nemesis; writes a report
var gateway = new Option<int[]>("--gateway") { Description = "Gateway port(s) on 127.0.0.1.", Required = true, AllowMultipleArgumentsPerToken = true };
var topic = new Option<string>("--topic") { Description = "Topic.", Required = true };
var runId = new Option<string>("--run-id") { Description = "Run id; producers are <run-id>-p<i>.", Required = true };
var partitions = new Option<int>("--partitions") { DefaultValueFactory = _ => 4 };
var producers = new Option<int>("--producers") { DefaultValueFactory = _ => 2 };
var messages = new Option<int>("--messages") { Description = "Messages per producer.", DefaultValueFactory = _ => 1500 };
var rate = new Option<int>("--rate") { Description = "Publishes per second per producer (0: unthrottled).", DefaultValueFactory = _ => 150 };
var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
var subscriptions = new Option<string[]>("--subscription") { Description = "name:Type:consumers, e.g. ks:KeyShared:2 (repeatable; none: publish only).", DefaultValueFactory = _ => [] };
var keys = new Option<int>("--keys") { Description = "Distinct message keys per producer (they pick the partitions).", DefaultValueFactory = _ => 8 };

var workload = new Command("workload", "Publish numbered messages and consume them, logging publishes.jsonl and deliveries.jsonl.")
{
    gateway, topic, runId, partitions, producers, messages, rate, output, subscriptions, keys,
};
workload.SetAction((r, ct) => new WorkloadRunner(new WorkloadOptions
{
    Gateways = r.GetValue(gateway)!,
    Topic = r.GetValue(topic)!,
    RunId = r.GetValue(runId)!,
    Partitions = r.GetValue(partitions),
    Producers = r.GetValue(producers),
    Messages = r.GetValue(messages),
    Rate = r.GetValue(rate),
    Keys = r.GetValue(keys),
    OutputDirectory = r.GetValue(output)!,
    Subscriptions = [.. r.GetValue(subscriptions)!.Select(SubscriptionPlan.Parse)],
}, Console.Out).RunAsync(ct));

var publishFiles = new Option<string[]>("--publishes") { Description = "Publish history files.", Required = true, AllowMultipleArgumentsPerToken = true };
var deliveryFiles = new Option<string[]>("--deliveries") { Description = "Delivery history files.", Required = true, AllowMultipleArgumentsPerToken = true };
var mustSeeAll = new Option<string[]>("--must-see-all") { Description = "Subscriptions that must deliver every acknowledged message (default: all in the deliveries).", AllowMultipleArgumentsPerToken = true };
var allowDuplicates = new Option<bool>("--allow-duplicates") { Description = "Report, but do not fail on, messages stored twice (non-idempotent producers)." };
var check = new Command("check", "Check histories; exit 0 when nothing acknowledged was lost and nothing unexpected, corrupt, duplicated or out of order was delivered.")
{
    publishFiles, deliveryFiles, mustSeeAll, allowDuplicates,
};
check.SetAction(r =>
{
    var report = HistoryChecker.Check(HistoryJson.Read<PublishRecord>(r.GetValue(publishFiles)!), HistoryJson.Read<DeliveryRecord>(r.GetValue(deliveryFiles)!),
        diskFaults: null, duplicatesForbidden: !r.GetValue(allowDuplicates), subscriptions: r.GetValue(mustSeeAll) is { Length: > 0 } names ? names : null);
    Console.WriteLine(report.Describe());
    return report.Passed ? 0 : 1;
});

var seed = new Option<int?>("--seed") { Description = "Nemesis seed (default: random, printed)." };
var scenarios = new Option<string[]>("--scenario") { Description = $"Scenarios to run (default: all): {string.Join(", ", FaultScenario.Names)}.", AllowMultipleArgumentsPerToken = true };
var duration = new Option<TimeSpan>("--duration") { Description = "Total time budget; split over the scenarios as publishing time.", DefaultValueFactory = _ => TimeSpan.FromMinutes(10) };
var run = new Command("run", "Run fault scenarios against real silo-host processes (cluster ones on a fresh Azurite) and write report.md.")
{
    seed, scenarios, duration, producers, rate, partitions, output,
};
run.SetAction(async (r, ct) =>
{
    var chosen = r.GetValue(scenarios) is { Length: > 0 } names ? names : [.. FaultScenario.Names];
    var theSeed = r.GetValue(seed) ?? Random.Shared.Next(1, 1_000_000);
    var outDir = Path.GetFullPath(r.GetValue(output)!);
    Directory.CreateDirectory(outDir);
    // Publishing time per scenario: the budget minus ~90 s per scenario for starting silos, restarts and draining.
    var perScenario = TimeSpan.FromSeconds(Math.Max(20, (r.GetValue(duration).TotalSeconds / chosen.Length) - 90));
    var producerCount = r.GetValue(producers);
    var perSecond = r.GetValue(rate);
    Console.WriteLine($"omq-faults run: seed {theSeed}, scenarios {string.Join(", ", chosen)}, ~{perScenario.TotalSeconds:0} s publishing each, output {outDir}");
    AzuriteFixture? azurite = null;
    var results = new List<ScenarioResult>();
    try
    {
        foreach (var name in chosen)
        {
            var scenario = FaultScenario.Create(name);
            if (scenario.NeedsAzure && azurite is null)
            {
                azurite = new AzuriteFixture();
                await azurite.InitializeAsync();
            }

            results.Add(await scenario.RunAsync(new FaultRunSettings
            {
                Seed = theSeed,
                OutputDirectory = outDir,
                Producers = producerCount,
                Rate = perSecond,
                Partitions = r.GetValue(partitions),
                MessagesPerProducer = (int)(perScenario.TotalSeconds * perSecond),
                AzureConnectionString = azurite?.ConnectionString,
                Log = Console.WriteLine,
            }));
        }
    }
    finally
    {
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }

    var report = string.Join("\n", [
        $"# Fault run, seed {theSeed}",
        "",
        $"Command: `scripts/faults.sh --seed {theSeed} --duration {r.GetValue(duration)}`; {producerCount} producers per run at {perSecond} msgs/s each.",
        "",
        "| scenario | faults | published | acked | unknown | deliveries | lost | lost to injected disk faults | unexpected | corrupt | log duplicates | redeliveries | order violations | fenced attempts | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        .. results.Select(Row),
        "",
        .. results.Select(x => x.Describe()),
    ]);
    await File.WriteAllTextAsync(Path.Combine(outDir, "report.md"), report);
    Console.WriteLine(report);
    return results.All(x => x.Passed) ? 0 : 1;
});

var root = new RootCommand("OrleansMQ fault-injection harness: workload, history checker and nemesis runner.") { workload, check, run };
return await root.Parse(args).InvokeAsync();

static string Row(ScenarioResult r)
{
    var c = r.Checks.Select(x => x.Report).ToList();
    return string.Create(CultureInfo.InvariantCulture,
        $"| {r.Scenario} | {r.Faults.Count} | {c.Sum(x => x.Published)} | {c.Sum(x => x.Acknowledged)} | {c.Sum(x => x.Unknown)} | {c.Sum(x => x.Deliveries)} | {c.Sum(x => x.Lost.Count)} | {c.Sum(x => x.LostToInjectedDiskFaults.Count)} | {c.Sum(x => x.Unexpected.Count)} | {c.Sum(x => x.Corrupt.Count)} | {c.Sum(x => x.LogDuplicates.Count)} | {c.Sum(x => x.Redeliveries)} | {c.Sum(x => x.OrderViolations.Count)} | {(r.FencedAttempts is { } f ? f.ToString(CultureInfo.InvariantCulture) : "-")} | {(r.Passed ? "passed" : "FAILED")} |");
}
