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
        await Broker.Client.Admin.CreateSubscriptionAsync(topic, "s", new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest });
        await using (var producer = Broker.Client.CreateProducer(topic))
        {
            await producer.PublishBatchAsync(Enumerable.Range(0, 5).Select(i => Message.FromText($"old{i}")));
        }

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
}
