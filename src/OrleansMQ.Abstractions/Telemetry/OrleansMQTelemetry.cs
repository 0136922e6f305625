using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansMQ;

/// <summary>
/// The broker's metrics (<see cref="Meter"/> "OrleansMQ") and traces (<see cref="ActivitySource"/> "OrleansMQ").
/// Every instrument is tagged with <c>topic</c> (and <c>subscription</c> where it applies). Trace context travels in the
/// W3C <c>traceparent</c> header from producer to consumer.
/// </summary>
public static class OrleansMQTelemetry
{
    /// <summary>The name of the meter and the activity source.</summary>
    public const string Name = "OrleansMQ";

    /// <summary>The W3C trace context header carried by messages.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The meter.</summary>
    public static readonly Meter Meter = new(Name, "1.0");

    /// <summary>The activity source.</summary>
    public static readonly ActivitySource ActivitySource = new(Name, "1.0");

    /// <summary>Messages appended to partitions (durable), by topic.</summary>
    public static readonly Counter<long> Published = Meter.CreateCounter<long>("omq.messages.published", "{message}", "Messages appended durably");

    /// <summary>Deliveries handed to consumers (redeliveries included), by topic and subscription.</summary>
    public static readonly Counter<long> Delivered = Meter.CreateCounter<long>("omq.messages.delivered", "{message}", "Deliveries to consumers");

    /// <summary>Acknowledged messages.</summary>
    public static readonly Counter<long> Acked = Meter.CreateCounter<long>("omq.messages.acked", "{message}", "Acknowledged messages");

    /// <summary>Negatively acknowledged deliveries.</summary>
    public static readonly Counter<long> Nacked = Meter.CreateCounter<long>("omq.messages.nacked", "{message}", "Negative acknowledgements");

    /// <summary>Messages moved to a dead-letter topic.</summary>
    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("omq.messages.dead_lettered", "{message}", "Messages moved to a dead-letter topic");

    /// <summary>
    /// Subscription state writes (cursor, ack floor and ranges), by topic and subscription: acks arriving within
    /// <c>OrleansMQ:CursorPersistInterval</c> of the last write share the next one.
    /// </summary>
    public static readonly Counter<long> SubscriptionStateWrites = Meter.CreateCounter<long>("omq.subscription.state_writes", "{write}", "Subscription state (cursor, acks) writes");

    /// <summary>
    /// Messages that entered a subscription cursor's read-ahead buffer, by topic, subscription and <c>source</c>:
    /// <c>notify</c> when they came with the partition's append notification (the fast path at the tail), <c>read</c> when
    /// the cursor read them from the partition's log (catching up, or after a notification it could not use).
    /// </summary>
    public static readonly Counter<long> CursorFilled = Meter.CreateCounter<long>("omq.subscription.filled", "{message}", "Messages taken into a cursor's read-ahead buffer, by source");

    /// <summary>Messages per partition append (how well producers batch).</summary>
    public static readonly Histogram<int> AppendBatchSize = Meter.CreateHistogram<int>("omq.append.batch_size", "{message}", "Messages per partition append");

    /// <summary>Time from a partition append call to the data being durable.</summary>
    public static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>("omq.append.duration", "ms", "Partition append until durable");

    /// <summary>Time from a message's time stamp to its first delivery.</summary>
    public static readonly Histogram<double> EndToEndLatency = Meter.CreateHistogram<double>("omq.delivery.latency", "ms", "Message time stamp to first delivery");

    /// <summary>Client side: time from a producer's publish call to its durable receipt, by topic.</summary>
    public static readonly Histogram<double> PublishDuration = Meter.CreateHistogram<double>("omq.publish.duration", "ms", "Publish call until durable receipt (client)");

    /// <summary>Client side: append batches a producer sent again (tag reason: out_of_order, transient), by topic-less producer.</summary>
    public static readonly Counter<long> ProducerResends = Meter.CreateCounter<long>("omq.producer.resends", "{batch}", "Append batches a producer sent again");

    /// <summary>Storage: time of one storage write round (write + fsync, or one remote append), by backend.</summary>
    public static readonly Histogram<double> StorageWriteDuration = Meter.CreateHistogram<double>("omq.storage.write.duration", "ms", "One storage write (write + fsync, or remote append)");

    /// <summary>Storage: partition appends made durable together by one storage write (group-commit size), by backend.</summary>
    public static readonly Histogram<int> StorageWriteBatchSize = Meter.CreateHistogram<int>("omq.storage.write.batch_size", "{append}", "Appends made durable by one storage write");

    /// <summary>The name of the gauge of messages retained in a partition that some subscription has not acknowledged (tags topic, partition).</summary>
    public const string PartitionBacklogGauge = "omq.partition.backlog";

    /// <summary>The name of the gauge of messages a subscription has not acknowledged on a partition (tags topic, subscription, partition).</summary>
    public const string SubscriptionLagGauge = "omq.subscription.lag";
}
