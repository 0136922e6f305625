using System.CommandLine;
using OrleansMQ.OrderProcessing;

var orders = new Option<int>("--orders") { Description = "How many orders to publish (every fifth has a product the catalog lacks at first).", DefaultValueFactory = _ => 40 };
var dataDir = new Option<string?>("--data-dir") { Description = "The broker's data directory (default: a fresh temporary one, deleted at the end)." };

var run = new Command("run", "Run the order-processing flow end to end in an embedded broker and print a summary.") { orders, dataDir };
run.SetAction((r, ct) => OrderFlow.RunAsync(r.GetValue(orders), r.GetValue(dataDir), ct));

var root = new RootCommand("OrleansMQ order-processing sample: exchange routing by region, a user transform, CloudEvents, subscriber grains, dead letters and re-drive.") { run };
return await root.Parse(args).InvokeAsync();
