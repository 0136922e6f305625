using OrleansMQ.Client;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Tests.Cluster;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>A two-silo cluster whose partitions keep their logs in Azure Storage (a real Azurite), so they can move between silos.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureClusterTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Messages_published_through_one_silo_survive_a_silo_stopping_with_the_log_in_Azure_Storage()
    {
        var prefix = $"c{Guid.NewGuid():N}"[..20];
        await using var broker = await BrokerCluster.StartAsync(silos: 2, configure: o => AzureBacked(o, prefix));
        try
        {
            var mq = broker.Client;
            await mq.Admin.CreateTopicAsync("azure-orders", new TopicSpec { Partitions = 4 });
            await mq.Admin.CreateSubscriptionAsync("azure-orders", "s", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
            await using (var producer = mq.CreateProducer("azure-orders"))
            {
                await producer.PublishBatchAsync(Enumerable.Range(0, 200).Select(i => Message.FromText($"m{i}", key: $"k{i % 13}")));
            }

            // Stop the silo that is not the primary: its partitions re-activate on the other silo and reopen their logs from Azure.
            var secondary = broker.Cluster.Silos.Last();
            await broker.Cluster.StopSiloAsync(secondary);

            await using var consumer = mq.CreateConsumer("azure-orders", "s", new ConsumerOptions { Prefetch = 200 });
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            var got = await Eventually.TakeAsync(e, 200, TimeSpan.FromSeconds(60), ack: true);
            Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}").Order(), got.Select(d => d.BodyAsString()).Order());
            foreach (var byKey in got.GroupBy(d => d.Message.Key))
            {
                Assert.Equal(byKey.OrderBy(d => d.Offset).Select(d => d.BodyAsString()), byKey.Select(d => d.BodyAsString()));
            }

            var partitions = await mq.Admin.GetPartitionsAsync("azure-orders");
            Assert.Equal(200, partitions.Sum(p => p.HighWatermark));
        }
        finally
        {
            broker.DeleteData();
        }
    }

    [Fact]
    public async Task A_new_cluster_with_no_local_data_resumes_messages_and_cursors_from_Azure_Storage()
    {
        var prefix = $"r{Guid.NewGuid():N}"[..20];
        await using (var first = await BrokerCluster.StartAsync(silos: 2, configure: o => AzureBacked(o, prefix), serviceId: prefix))
        {
            var mq = first.Client;
            await mq.Admin.CreateQueueAsync("azure-jobs", new QueueSpec { Partitions = 2 });
            await using (var producer = mq.CreateProducer("azure-jobs"))
            {
                await producer.PublishBatchAsync(Enumerable.Range(0, 100).Select(i => Message.FromText($"job {i}")));
            }

            await using var consumer = mq.CreateQueueConsumer("azure-jobs", new ConsumerOptions { Prefetch = 40 });
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            await Eventually.TakeAsync(e, 40, TimeSpan.FromSeconds(60), ack: true);
            await Eventually.ReturnsAsync(() => mq.Admin.GetSubscriptionStatsAsync("azure-jobs", IOrleansMQAdmin.QueueSubscription), s => s.Sum(p => p.Backlog) <= 60);
            first.DeleteData();
        }

        // Fresh data directory: topics, messages and cursors can only come from Azure.
        await using var second = await BrokerCluster.StartAsync(silos: 2, configure: o => AzureBacked(o, prefix), serviceId: prefix);
        try
        {
            var mq2 = second.Client;
            var stats = await mq2.Admin.GetSubscriptionStatsAsync("azure-jobs", IOrleansMQAdmin.QueueSubscription);
            var backlog = stats.Sum(p => p.Backlog);
            Assert.InRange(backlog, 1, 60);
            await using var consumer = mq2.CreateQueueConsumer("azure-jobs", new ConsumerOptions { Prefetch = 100 });
            await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
            var rest = await Eventually.TakeAsync(e, (int)backlog, TimeSpan.FromSeconds(60), ack: true);
            Assert.Equal(rest.Count, rest.Select(d => d.BodyAsString()).Distinct().Count());
        }
        finally
        {
            second.DeleteData();
        }
    }

    private void AzureBacked(OrleansMQServerOptions o, string prefix)
    {
        o.LogStorage = LogStorageKind.AzureStorage;
        o.StateStorage = LogStorageKind.AzureStorage;
        o.AzureStorageConnectionString = azurite.ConnectionString;
        o.AzureNamePrefix = prefix;
    }
}
