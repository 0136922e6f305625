using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using OrleansMQ.Client;
using Xunit.Abstractions;
using OrleansMQ.Server.Hosting;
using OrleansMQ.Tests.Cluster;

namespace OrleansMQ.Tests.AzureStorage;

/// <summary>A two-silo cluster whose partitions keep their logs in Azure Storage (a real Azurite), so they can move between silos.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureClusterTests(AzuriteFixture azurite, ITestOutputHelper output)
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

    [Fact]
    public async Task A_partition_activation_whose_log_another_instance_took_over_reports_and_serves_the_owners_writes()
    {
        // Stands for finding 6 (docs/reliability.md): a duplicate partition activation that only served reads kept its
        // frozen end, so acknowledged messages written through the other activation were never delivered.
        var prefix = $"f{Guid.NewGuid():N}"[..20];
        await using var broker = await BrokerCluster.StartAsync(silos: 1, configure: o => AzureBacked(o, prefix));
        try
        {
            var mq = broker.Client;
            await mq.Admin.CreateTopicAsync("taken-over", new TopicSpec { Partitions = 1 });
            await mq.Admin.CreateSubscriptionAsync("taken-over", "s", new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest });
            await using var producer = mq.CreateProducer("taken-over");
            await producer.PublishBatchAsync(Enumerable.Range(0, 3).Select(i => Message.FromText($"own {i}")));

            // Another silo's activation of the same partition opens the log (fencing the cluster's) and writes two records.
            await using (var otherSilo = AzureTestLogs.Factory(new OrleansMQ.Server.Storage.AzureLogOptions { ConnectionString = azurite.ConnectionString, NamePrefix = prefix }))
            {
                var other = await otherSilo.OpenAsync("taken-over", 0);
                Assert.Equal(3, await other.AppendAsync(Enumerable.Range(0, 2).Select(i => new OrleansMQ.Server.Storage.LogRecord
                {
                    Timestamp = DateTimeOffset.UtcNow,
                    MessageId = $"elsewhere-{i}",
                    ContentType = "text/plain",
                    Body = System.Text.Encoding.UTF8.GetBytes($"elsewhere {i}"),
                }).ToArray()));

                // The cluster's activation never writes here, yet it must not keep reporting offset 3 as the end: its
                // next ownership check (at most 1 s later) fences it, it deactivates, and the retry reaches a fresh one.
                var moved = 0;
                var end = await Eventually.ReturnsAsync(async () =>
                {
                    try
                    {
                        return (await mq.Admin.GetPartitionsAsync("taken-over"))[0].HighWatermark;
                    }
                    catch (OrleansMQException ex) when (ex.Code == ErrorCode.Internal)
                    {
                        output.WriteLine($"retry after: {ex.Message}");
                        moved++;
                        return -1;
                    }
                }, hw => hw == 5, TimeSpan.FromSeconds(30), "the partition's end should include the other instance's writes");
                Assert.Equal(5, end);
                Assert.True(moved >= 1, "the stale activation should have refused once (it was fenced)");

                await using var consumer = mq.CreateConsumer("taken-over", "s", new ConsumerOptions { Prefetch = 10 });
                await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
                var got = await Eventually.TakeAsync(e, 5, TimeSpan.FromSeconds(30), ack: true);
                Assert.Equal(["own 0", "own 1", "own 2", "elsewhere 0", "elsewhere 1"], got.OrderBy(d => d.Offset).Select(d => d.BodyAsString()));

                // The fresh activation reopened the log, so now the other instance is the stale one and cannot write.
                await producer.PublishAsync(Message.FromText("own 3"));
                await Assert.ThrowsAsync<OrleansMQ.Server.Storage.LogFencedException>(async () =>
                    await other.AppendAsync([new OrleansMQ.Server.Storage.LogRecord { Timestamp = DateTimeOffset.UtcNow, Body = new byte[] { 1 } }]));
            }

            Assert.Equal(6, (await mq.Admin.GetPartitionsAsync("taken-over"))[0].HighWatermark);
        }
        finally
        {
            broker.DeleteData();
        }
    }

    private void AzureBacked(OrleansMQServerOptions o, string prefix)
    {
        o.LogStorage = LogStorageKind.AzureStorage;
        o.StateStorage = LogStorageKind.AzureStorage;
        o.AzureStorageConnectionString = azurite.ConnectionString;
        o.AzureNamePrefix = prefix;
    }

    [Fact]
    public async Task Three_silos_with_Azure_Table_membership_lose_no_acknowledged_message_when_a_silo_leaves_and_another_joins_under_load()
    {
        var prefix = $"l{Guid.NewGuid():N}"[..20];
        await using var broker = await BrokerCluster.StartAsync(silos: 3, configure: o => AzureBacked(o, prefix), serviceId: prefix,
            azureMembershipConnectionString: azurite.ConnectionString);
        try
        {
            // The silos found each other through the Azure Table membership table, not TestingHost's in-memory one.
            var membership = broker.Cluster.Silos[0].ServiceProvider.GetRequiredService<IMembershipTable>();
            Assert.Contains("Azure", membership.GetType().FullName, StringComparison.Ordinal);
            Assert.Equal(3, await ActiveSilosInAzureTableAsync(broker.Cluster.Options.ClusterId));
            // Grain state in Azure Table uses Orleans' binary serializer (see StateSerializationTests for why).
            var tableOptions = broker.Cluster.Silos[0].ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Orleans.Configuration.AzureTableStorageOptions>>()
                .Get(OrleansMQServerOptions.GrainStorageName);
            Assert.IsType<Orleans.Storage.OrleansGrainStorageSerializer>(tableOptions.GrainStorageSerializer);
            var mq = broker.Client;
            await mq.Admin.CreateQueueAsync("azure-load", new QueueSpec { Partitions = 6, AckTimeout = TimeSpan.FromSeconds(10) });
            var acked = new ConcurrentDictionary<int, bool>();
            var received = new ConcurrentDictionary<int, int>();
            using var stopProducing = new CancellationTokenSource();
            using var stopConsuming = new CancellationTokenSource();

            var producing = Task.Run(async () =>
            {
                await using var producer = mq.CreateProducer("azure-load");
                var inFlight = new List<Task>();
                for (var seq = 0; !stopProducing.IsCancellationRequested; seq++)
                {
                    var n = seq;
                    inFlight.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await producer.PublishAsync(Message.FromText(n.ToString(System.Globalization.CultureInfo.InvariantCulture), key: $"k{n % 32}"));
                            acked[n] = true;
                        }
                        catch (Exception ex) when (ex is OrleansMQException or TimeoutException or OrleansException)
                        {
                            // Not acknowledged: the checker does not expect it.
                        }
                    }));
                    if (inFlight.Count >= 64)
                    {
                        await Task.WhenAll(inFlight);
                        inFlight.Clear();
                    }
                }

                await Task.WhenAll(inFlight);
            });

            var consuming = Task.Run(async () =>
            {
                await using var consumer = mq.CreateQueueConsumer("azure-load", new ConsumerOptions { Prefetch = 200 });
                try
                {
                    await foreach (var d in consumer.ConsumeAsync(stopConsuming.Token))
                    {
                        received.AddOrUpdate(int.Parse(d.BodyAsString(), System.Globalization.CultureInfo.InvariantCulture), 1, (_, c) => c + 1);
                        _ = d.AckAsync();
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });

            await Eventually.ReturnsAsync(() => Task.FromResult(acked.Count), c => c >= 300, TimeSpan.FromSeconds(60), "publishing got going");
            await broker.Cluster.StopSiloAsync(broker.Cluster.Silos.Last());
            var afterStop = acked.Count;
            await Eventually.ReturnsAsync(() => Task.FromResult(acked.Count), c => c >= afterStop + 300, TimeSpan.FromSeconds(60), "publishing goes on with two silos");
            await broker.Cluster.StartAdditionalSiloAsync();
            var afterJoin = acked.Count;
            await Eventually.ReturnsAsync(() => Task.FromResult(acked.Count), c => c >= afterJoin + 300, TimeSpan.FromSeconds(60), "publishing goes on after a silo joined");
            await stopProducing.CancelAsync();
            await producing;

            await Eventually.ReturnsAsync(() => Task.FromResult(acked.Keys.Count(k => !received.ContainsKey(k))), missing => missing == 0, TimeSpan.FromSeconds(90), "every acknowledged message is delivered");
            await stopConsuming.CancelAsync();
            await consuming;
            var duplicates = received.Values.Sum(c => c - 1);
            output.WriteLine($"acknowledged {acked.Count}, delivered {received.Count} distinct, {duplicates} duplicate deliveries");
            Assert.All(acked.Keys, k => Assert.True(received.ContainsKey(k), $"acknowledged message {k} was lost"));
            await Eventually.ReturnsAsync(() => ActiveSilosInAzureTableAsync(broker.Cluster.Options.ClusterId), n => n == 3, TimeSpan.FromSeconds(60),
                "the membership table lists the two remaining silos and the one that joined as active");
        }
        finally
        {
            broker.DeleteData();
        }
    }

    // Rows of Orleans' Azure Table membership (table OrleansSiloInstances, partition = cluster id) whose status is Active.
    private async Task<int> ActiveSilosInAzureTableAsync(string clusterId)
    {
        var table = new Azure.Data.Tables.TableClient(azurite.ConnectionString, "OrleansSiloInstances");
        var active = 0;
        await foreach (var row in table.QueryAsync<Azure.Data.Tables.TableEntity>(e => e.PartitionKey == clusterId))
        {
            if (row.GetString("Status") == "Active")
            {
                active++;
            }
        }

        return active;
    }
}
