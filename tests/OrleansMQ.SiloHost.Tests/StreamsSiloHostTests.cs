using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansMQ.Client;
using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests;

/// <summary>The silo host's <c>Streams</c> switch: the OrleansMQ Orleans Streams provider in a real silo-host process.</summary>
public sealed class StreamsSiloHostTests(ITestOutputHelper log) : IDisposable
{
    private const string Provider = "omq-app";
    private const int Partitions = 4;
    private const int Count = 30;
    private readonly TempDirectory _dir = new("streams-host");

    [Fact]
    public async Task Silo_host_with_streams_enabled_delivers_an_Orleans_stream_to_a_client_subscriber_through_an_OrleansMQ_topic()
    {
        await using var silo = await SiloHostProcess.StartAsync(_dir.File("data"), SiloStorage.File,
            "--Streams:Enabled=true", $"--Streams:Provider={Provider}", $"--Streams:Partitions={Partitions}");
        log.WriteLine($"silo started in {silo.LastStartDuration.TotalSeconds:0.0} s on gateway {silo.GatewayPort}");

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(silo.GatewayPort, serviceId: "omq", clusterId: "omq");
            client.AddOrleansMQStreams(Provider, o => o.Partitions = Partitions);
        });
        builder.Services.AddOrleansMQClient();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var orleans = host.Services.GetRequiredService<IClusterClient>();
            var stream = orleans.GetStreamProvider(Provider).GetStream<string>(StreamId.Create("orders", Guid.NewGuid().ToString("N")));
            var received = new ConcurrentQueue<string>();
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var handle = await stream.SubscribeAsync((item, _) =>
            {
                received.Enqueue(item);
                if (received.Count == Count)
                {
                    all.TrySetResult();
                }

                return Task.CompletedTask;
            });

            var sent = Enumerable.Range(0, Count).Select(i => $"order-{i}").ToArray();
            foreach (var item in sent)
            {
                await stream.OnNextAsync(item);
            }

            await all.Task.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.Equal(sent, received);
            await handle.UnsubscribeAsync();

            // The stream is an ordinary OrleansMQ topic: visible to the admin API with every event stored.
            var admin = host.Services.GetRequiredService<IOrleansMQClient>().Admin;
            var partitions = await admin.GetPartitionsAsync($"orleans.streams.{Provider}");
            Assert.Equal(Partitions, partitions.Count);
            Assert.Equal(Count, partitions.Sum(p => p.HighWatermark));
            Assert.Equal(Partitions, (await admin.GetSubscriptionStatsAsync($"orleans.streams.{Provider}", "orleans-streams")).Count);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    public void Dispose() => _dir.Dispose();
}
