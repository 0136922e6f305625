using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansMQ.Client;

namespace OrleansMQ.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class TelemetryTests(SharedClusterFixture fixture)
{
    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Broker_metrics_count_published_delivered_acked_nacked_and_dead_lettered_messages()
    {
        var topic = TestNames.Unique("metered");
        var totals = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrleansMQTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "topic" && (string?)tag.Value == topic)
                {
                    totals.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
                }
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => { });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "topic" && (string?)tag.Value == topic)
                {
                    totals.AddOrUpdate(instrument.Name + ".count", 1, (_, v) => v + 1);
                }
            }
        });
        listener.Start();

        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest, MaxDeliveries = 1 });
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 10).Select(i => Message.FromText($"m{i}")));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "s");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 10);
        await got[0].NackAsync("no"); // max deliveries 1: straight to the DLQ
        foreach (var d in got.Skip(1))
        {
            await d.AckAsync();
        }

        await Eventually.ReturnsAsync(() => Task.FromResult(totals.GetValueOrDefault("omq.messages.dead_lettered")), n => n == 1);
        await Eventually.ReturnsAsync(() => Task.FromResult(totals.GetValueOrDefault("omq.messages.acked")), n => n == 9);
        Assert.Equal(10, totals["omq.messages.published"]);
        Assert.Equal(10, totals["omq.messages.delivered"]);
        Assert.Equal(1, totals["omq.messages.nacked"]);
        Assert.True(totals.GetValueOrDefault("omq.delivery.latency.count") >= 10);
        Assert.True(totals.GetValueOrDefault("omq.append.duration.count") >= 1);
    }

    [Fact]
    public async Task Acks_streaming_in_share_subscription_state_writes_at_most_one_per_cursor_persist_interval()
    {
        var topic = TestNames.Unique("paced");
        long writes = 0, acked = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrleansMQTelemetry.Name && instrument.Name is "omq.subscription.state_writes" or "omq.messages.acked")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "topic" && (string?)tag.Value == topic)
                {
                    Interlocked.Add(ref instrument.Name == "omq.messages.acked" ? ref acked : ref writes, value);
                }
            }
        });
        listener.Start();

        var interval = TimeSpan.FromMilliseconds(20);
        await using var broker = await BrokerCluster.StartAsync(silos: 1, configure: o => o.CursorPersistInterval = interval);
        await broker.Client.Admin.CreateTopicAsync(topic);
        await broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using (var producer = broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 60).Select(i => Message.FromText($"m{i}")));
        }

        await using var consumer = broker.Client.CreateConsumer(topic, "s", new ConsumerOptions { Prefetch = 100 });
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 60);
        var writesBefore = Interlocked.Read(ref writes);

        // One ack every millisecond or so, each sent as soon as the previous one is on its way (not awaited in between):
        // without pacing every ack would find the previous write done and start its own.
        var clock = Stopwatch.StartNew();
        var acks = new List<Task>();
        foreach (var delivery in got)
        {
            acks.Add(delivery.AckAsync());
            await Task.Delay(1);
        }

        await Task.WhenAll(acks);
        var elapsed = clock.Elapsed;
        await Eventually.ReturnsAsync(() => Task.FromResult(Interlocked.Read(ref acked)), n => n == 60);
        var made = Interlocked.Read(ref writes) - writesBefore;
        Assert.True(made >= 1 && made <= (long)(elapsed / interval) + 2, $"{made} state writes for 60 acks over {elapsed.TotalMilliseconds:0} ms with CursorPersistInterval {interval.TotalMilliseconds} ms");

        // A consumer that awaits each ack gets a durable write per ack (each waits for its own, paced, write).
        await using (var producer = broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"n{i}")));
        }

        var more = await Eventually.TakeAsync(e, 5);
        var before = Interlocked.Read(ref writes);
        foreach (var delivery in more)
        {
            await delivery.AckAsync();
        }

        Assert.Equal(5, Interlocked.Read(ref writes) - before);
    }

    [Fact]
    public async Task Backlog_and_lag_gauges_storage_writes_and_publish_latency_follow_a_known_workload()
    {
        var topic = TestNames.Unique("gauged");
        var gauges = new ConcurrentDictionary<string, long>();
        var histograms = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrleansMQTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name is OrleansMQTelemetry.PartitionBacklogGauge or OrleansMQTelemetry.SubscriptionLagGauge)
            {
                var tagMap = new Dictionary<string, object?>();
                foreach (var tag in tags)
                {
                    tagMap[tag.Key] = tag.Value;
                }

                if ((string?)tagMap["topic"] == topic)
                {
                    gauges[$"{instrument.Name}/{tagMap.GetValueOrDefault("subscription")}/{tagMap["partition"]}"] = value;
                }
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => histograms.AddOrUpdate(instrument.Name, 1, (_, v) => v + 1));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "omq.storage.write.duration")
            {
                histograms.AddOrUpdate(instrument.Name, 1, (_, v) => v + 1);
                return;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == "topic" && (string?)tag.Value == topic)
                {
                    histograms.AddOrUpdate(instrument.Name, 1, (_, v) => v + 1);
                }
            }
        });
        listener.Start();

        await Broker.Client.Admin.CreateTopicAsync(topic);
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "fast", new SubscriptionSpec { Start = StartPosition.Earliest });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "idle", new SubscriptionSpec { Start = StartPosition.Earliest });
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 10).Select(i => Message.FromText($"m{i}")));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "fast");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        foreach (var d in await Eventually.TakeAsync(e, 4))
        {
            await d.AckAsync();
        }

        // "fast" acked 4 of 10 (lag 6), "idle" none (lag 10), so the partition keeps 10 for its slowest subscription.
        long Observe(string key)
        {
            listener.RecordObservableInstruments();
            return gauges.GetValueOrDefault(key, -1);
        }

        await Eventually.ReturnsAsync(() => Task.FromResult(Observe($"{OrleansMQTelemetry.SubscriptionLagGauge}/fast/0")), v => v == 6, because: "lag of 'fast'");
        await Eventually.ReturnsAsync(() => Task.FromResult(Observe($"{OrleansMQTelemetry.SubscriptionLagGauge}/idle/0")), v => v == 10, because: "lag of 'idle'");
        await Eventually.ReturnsAsync(() => Task.FromResult(Observe($"{OrleansMQTelemetry.PartitionBacklogGauge}//0")), v => v == 10, because: "partition backlog");
        Assert.True(histograms.GetValueOrDefault("omq.publish.duration") >= 1, "publish duration recorded");
        Assert.True(histograms.GetValueOrDefault("omq.storage.write.duration") >= 1, "storage write duration recorded");
        Assert.True(histograms.GetValueOrDefault("omq.storage.write.batch_size") >= 1, "storage write batch size recorded");
    }

    [Fact]
    public async Task A_consumer_at_the_tail_gets_new_messages_with_the_append_notification_without_reading_them_back()
    {
        var topic = TestNames.Unique("tailpush");
        var filled = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrleansMQTelemetry.Name && instrument.Name == "omq.subscription.filled")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? t = null, source = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "topic") t = (string?)tag.Value;
                if (tag.Key == "source") source = (string?)tag.Value;
            }

            if (t == topic && source is not null)
            {
                filled.AddOrUpdate(source, value, (_, v) => v + value);
            }
        });
        listener.Start();

        await Broker.Client.Admin.CreateTopicAsync(topic);
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"old{i}")));
        }

        // Created after the backlog was written, so no append notification carried those messages to its cursor.
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest });

        await using var consumer = Broker.Client.CreateConsumer(topic, "s");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var backlog = await Eventually.TakeAsync(e, 5, ack: true); // catching up: read from the log
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"old{i}"), backlog.Select(d => d.BodyAsString()));
        Assert.Equal(5, filled.GetValueOrDefault("read"));

        // Now at the tail: each new message comes with the partition's notification.
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.PublishAsync(Message.FromText($"new{i}"));
                var d = Assert.Single(await Eventually.TakeAsync(e, 1, ack: true));
                Assert.Equal($"new{i}", d.BodyAsString());
            }
        }

        // Every message entered the cursor exactly once, and the tail ones (almost all; a notification that races a
        // fetch in flight is left to the fetch) without a read.
        Assert.Equal(15, filled.GetValueOrDefault("read") + filled.GetValueOrDefault("notify"));
        Assert.True(filled.GetValueOrDefault("notify") >= 5, $"filled by notification: {filled.GetValueOrDefault("notify")}, by read: {filled.GetValueOrDefault("read")}");
    }

    [Fact]
    public async Task Trace_context_travels_from_the_producer_to_the_consumer_span()
    {
        var topic = TestNames.Unique("traced");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 2 });
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        using var source = new ActivitySource("OrleansMQ.Tests");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is OrleansMQTelemetry.Name or "OrleansMQ.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        ActivityTraceId traceId;
        ActivitySpanId spanId;
        using (var parent = source.StartActivity("checkout"))
        {
            Assert.NotNull(parent);
            traceId = parent.TraceId;
            spanId = parent.SpanId;
            await Broker.Client.PublishAsync(topic, Message.FromText("traced order", key: "k"));
        }

        await using var consumer = Broker.Client.CreateConsumer(topic, "s");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var d = (await Eventually.TakeAsync(e, 1))[0];
        Assert.NotNull(d.Activity);
        Assert.Equal(ActivityKind.Consumer, d.Activity.Kind);
        Assert.Equal(traceId, d.Activity.TraceId);
        Assert.Equal(spanId, d.Activity.ParentSpanId);
        Assert.StartsWith($"00-{traceId}-{spanId}", d.Message.Headers[OrleansMQTelemetry.TraceParentHeader]);
        await d.AckAsync();
        Assert.NotEqual(default, d.Activity.Duration);
    }

    [Fact]
    public async Task Trace_context_crosses_silos_from_a_producer_on_one_silo_to_a_consumer_on_another()
    {
        var topic = TestNames.Unique("traced-x");
        var onFirst = Broker.Cluster.Silos[0].ServiceProvider.GetRequiredService<IOrleansMQClient>();
        var onSecond = Broker.Cluster.Silos[1].ServiceProvider.GetRequiredService<IOrleansMQClient>();
        await onFirst.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 4 });
        await onFirst.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Start = StartPosition.Earliest });
        using var source = new ActivitySource("OrleansMQ.Tests.CrossSilo");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is OrleansMQTelemetry.Name or "OrleansMQ.Tests.CrossSilo",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        // One message per partition, so whichever silos the partitions landed on, each hop is exercised.
        var parents = new Dictionary<string, (ActivityTraceId Trace, ActivitySpanId Span)>();
        for (var i = 0; i < 8; i++)
        {
            using var parent = source.StartActivity($"order-{i}");
            Assert.NotNull(parent);
            parents[$"order-{i}"] = (parent.TraceId, parent.SpanId);
            await onFirst.PublishAsync(topic, Message.FromText($"order-{i}", key: $"k{i}"));
        }

        await using var consumer = onSecond.CreateConsumer(topic, "s");
        await using var e = consumer.ConsumeAsync().GetAsyncEnumerator();
        var got = await Eventually.TakeAsync(e, 8, ack: true);
        Assert.Equal(parents.Keys.Order(), got.Select(d => d.BodyAsString()).Order());
        foreach (var d in got)
        {
            var (trace, span) = parents[d.BodyAsString()];
            Assert.NotNull(d.Activity);
            Assert.Equal(trace, d.Activity.TraceId);
            Assert.Equal(span, d.Activity.ParentSpanId);
        }
    }
}
