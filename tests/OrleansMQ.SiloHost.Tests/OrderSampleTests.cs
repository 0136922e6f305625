using System.Globalization;
using System.Text.RegularExpressions;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>
/// The order-processing sample (<c>omq-orders run</c>), run as its own process: it hosts its own silo with the broker,
/// its subscriber grains and its enrichment transform, and prints what happened. The expected figures follow from the
/// sample's documented order generator (order i: eu when i % 3 == 1, us when i % 3 == 2, apac otherwise; every fifth
/// order has a product the catalog lacks until the fix).
/// </summary>
public sealed partial class OrderSampleTests(ITestOutputHelper log)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    [Theory]
    [InlineData(40, 14, 3, 13, 3)]
    [InlineData(12, 4, 1, 4, 1)]
    public async Task Order_sample_routes_by_region_dead_letters_bad_orders_and_redrives_them(int orders, int eu, int euBad, int us, int usBad)
    {
        using var data = new TempDirectory("orders");
        await using var run = ChildProcess.Start("omq-orders run", BuildOutputs.OrderSampleDll,
            ["run", "--orders", orders.ToString(CultureInfo.InvariantCulture), "--data-dir", data.Path]);
        await run.WaitForExitAsync(RunTimeout);
        log.WriteLine(run.Describe());

        Assert.True(run.ExitCode == 0 && run.Output.Contains("orders: all checks passed", StringComparison.Ordinal),
            $"The sample should exit 0 and print \"orders: all checks passed\".\n{run.Describe()}");

        var published = Single(run, PublishedLine());
        Assert.Equal(orders, Int(published, "published"));
        Assert.Equal(orders, Int(published, "audited"));
        Assert.Equal(orders - eu - us, Int(published, "apac"));

        foreach (var (region, routed, bad) in new[] { ("eu", eu, euBad), ("us", us, usBad) })
        {
            var line = run.StdoutLines.Select(l => RegionLine().Match(l)).Single(m => m.Success && m.Groups["region"].Value == region);
            Assert.Equal(routed, Int(line, "routed"));
            Assert.Equal(routed, Int(line, "processed"));
            Assert.Equal(bad, Int(line, "afterRedrive"));
            Assert.Equal(bad, Int(line, "dead"));
            Assert.Equal(bad, Int(line, "redriven"));
            Assert.Contains(run.StdoutLines, l => l.StartsWith($"{region}: dead letter: ", StringComparison.Ordinal) && l.Contains("unknown product GIFT-50", StringComparison.Ordinal));
        }

        var totals = Single(run, TotalsLine());
        Assert.Equal(euBad + usBad, Int(totals, "dead"));
        Assert.Equal(euBad + usBad, Int(totals, "redriven"));

        // What the subscriber grain received went through the binding's transforms: enriched, then CloudEvents-wrapped.
        var envelope = Assert.Single(run.StdoutLines, l => l.StartsWith("eu: an order as the processor got it: ", StringComparison.Ordinal));
        Assert.Contains("\"specversion\":\"1.0\"", envelope, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"com.example.shop.order.created\"", envelope, StringComparison.Ordinal);
        Assert.Contains("\"tier\":", envelope, StringComparison.Ordinal);
        Assert.Contains("\"currency\":\"EUR\"", envelope, StringComparison.Ordinal);

        // The embedded broker kept its log in the given data directory.
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data.Path, "log"), "*.log", SearchOption.AllDirectories));
    }

    private static Match Single(ChildProcess run, Regex pattern) =>
        run.StdoutLines.Select(l => pattern.Match(l)).Single(m => m.Success);

    private static int Int(Match match, string group) => int.Parse(match.Groups[group].ValueSpan, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^summary: published (?<published>\d+), audited (?<audited>\d+), apac (?<apac>\d+) \(audit only\)$", RegexOptions.CultureInvariant)]
    private static partial Regex PublishedLine();

    [GeneratedRegex(@"^summary: (?<region>\w+) routed (?<routed>\d+), processed (?<processed>\d+) \((?<afterRedrive>\d+) after re-drive\), dead-lettered (?<dead>\d+), re-driven (?<redriven>\d+), revenue ", RegexOptions.CultureInvariant)]
    private static partial Regex RegionLine();

    [GeneratedRegex(@"^summary: dead-lettered (?<dead>\d+), re-driven (?<redriven>\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex TotalsLine();
}
