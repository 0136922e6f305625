using OrleansMQ.Server.Storage;
using OrleansMQ.Tests.Storage;
using Xunit.Sdk;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>
/// Random interleavings of takeovers, appends (some concurrent), retention and restarts across several "silos" (factories)
/// on one Azurite container, with small segments and a low block limit so rolling happens often. After every step the
/// newest opener's view must equal the model: every acknowledged record, once, in offset order; stale instances write nothing.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureMessageLogRandomizedTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Takeovers_appends_and_retention_never_lose_reorder_or_duplicate_acknowledged_records(int seed)
    {
        try
        {
            await RunAsync(seed);
        }
        catch (Exception ex) when (ex is not XunitException || !ex.Message.StartsWith("seed", StringComparison.Ordinal))
        {
            throw new XunitException($"seed {seed}: {ex}");
        }
    }

    private async Task RunAsync(int seed)
    {
        var random = new Random(seed);
        var prefix = AzureTestLogs.NewPrefix();
        var factories = new List<AzureMessageLogFactory>();
        AzureMessageLogFactory NewSilo()
        {
            var options = AzureTestLogs.Options(azurite, prefix, segmentBytes: 8 * 1024);
            options.MaxAppendBytes = 4096;
            options.MaxBlocksPerSegment = 6;
            options.IndexIntervalBytes = 512;
            var factory = AzureTestLogs.Factory(options);
            factories.Add(factory);
            return factory;
        }

        var model = new List<string>(); // message ids by offset, from offset 0
        var instances = new List<IMessageLog>();
        var owner = await NewSilo().OpenAsync("random", 0);
        instances.Add(owner);
        var next = 0;
        try
        {
            for (var step = 0; step < 40; step++)
            {
                switch (random.Next(10))
                {
                    case 0 or 1:
                        // Takeover, usually from another silo, sometimes by reopening in the same one.
                        var factory = random.Next(3) == 0 ? factories[random.Next(factories.Count)] : NewSilo();
                        owner = await factory.OpenAsync("random", 0);
                        instances.Add(owner);
                        break;
                    case 2 when instances.Count > 1:
                        // A stale instance tries to write: refused, and nothing of it appears.
                        var stale = instances[random.Next(instances.Count - 1)];
                        var ex = await Assert.ThrowsAnyAsync<Exception>(async () => await stale.AppendAsync(Records(ref next, random, 1 + random.Next(5))));
                        Assert.True(ex is LogFencedException or ObjectDisposedException, ex.ToString());
                        break;
                    case 3:
                        var below = owner.LowWatermark + random.Next((int)(owner.HighWatermark - owner.LowWatermark) + 1);
                        await owner.ApplyRetentionAsync(new RetentionRequest { DeleteBelowOffset = below });
                        Assert.True(owner.LowWatermark <= below);
                        break;
                    default:
                        // Concurrent appends from the owner: offsets in call order, all acknowledged.
                        var batches = Enumerable.Range(0, 1 + random.Next(6)).Select(_ => Records(ref next, random, 1 + random.Next(12))).ToList();
                        var appends = batches.Select(b => owner.AppendAsync(b).AsTask()).ToList();
                        var firsts = await Task.WhenAll(appends);
                        for (var i = 0; i < batches.Count; i++)
                        {
                            Assert.Equal(model.Count, firsts[i]);
                            model.AddRange(batches[i].Select(r => r.MessageId!));
                        }

                        break;
                }

                // The whole log now and then (small segments make a full read many requests), its tail after every step.
                await AssertMatchesAsync(owner, model, fromOffset: step % 10 == 9 ? 0 : model.Count - 20);
            }

            // A restart of everything sees the same log.
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }

            await using var restarted = await NewSilo().OpenAsync("random", 0);
            await AssertMatchesAsync(restarted, model, fromOffset: 0);
        }
        finally
        {
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }
        }
    }

    private static async Task AssertMatchesAsync(IMessageLog log, List<string> model, int fromOffset)
    {
        Assert.Equal(model.Count, log.HighWatermark);
        var low = (int)Math.Max(log.LowWatermark, fromOffset);
        var all = await TestRecords.ReadAllAsync(log, low);
        Assert.Equal(Enumerable.Range(low, model.Count - low).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(model.Skip(low), all.Select(r => r.MessageId));
    }

    private static LogRecord[] Records(ref int next, Random random, int count)
    {
        var records = new LogRecord[count];
        for (var i = 0; i < count; i++)
        {
            records[i] = TestRecords.Create(next++, bodyBytes: random.Next(600));
        }

        return records;
    }
}
