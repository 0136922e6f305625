using System.Buffers.Binary;
using System.Diagnostics;
using HdrHistogram;
using OrleansMQ.Client;

namespace OrleansMQ.Load;

/// <summary>
/// One load run against a cluster: a producer publishes <see cref="BenchSettings.Messages"/> messages (paced at
/// <see cref="BenchSettings.Rate"/>, or as fast as <see cref="BenchSettings.InFlight"/> outstanding publishes allow) while a
/// consumer on a Shared subscription receives and acks them. Each body carries its sequence number and its scheduled send
/// time, so end-to-end latency is receive time − scheduled time: stalls of the sender count (no coordinated omission).
/// </summary>
internal sealed class BenchRun(IOrleansMQClient client, BenchSettings settings)
{
    public const string Subscription = "bench";

    private readonly HistogramBase _publish = Latency.NewConcurrentHistogram();
    private readonly HistogramBase _endToEnd = Latency.NewConcurrentHistogram();
    private readonly byte[] _seen = new byte[settings.Messages];
    private long _published;
    private long _consumed;
    private long _publishFailed;

    /// <summary>Messages with a durable receipt so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Distinct messages received so far.</summary>
    public long Consumed => Interlocked.Read(ref _consumed);

    /// <summary>Creates the topic and subscription if needed, runs the load, and returns the figures.</summary>
    public async Task<BenchResult> RunAsync(CancellationToken cancellationToken)
    {
        var topic = settings.Topic;
        await client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = settings.Partitions }, cancellationToken);
        await client.Admin.CreateSubscriptionAsync(topic, Subscription,
            new SubscriptionSpec { Type = SubscriptionType.Shared, Start = StartPosition.Earliest }, cancellationToken);
        var info = await client.Admin.GetTopicAsync(topic, cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var consuming = ConsumeAsync(stop.Token);
        await PublishAsync(started, cancellationToken);

        var drainDeadline = Stopwatch.GetTimestamp() + (long)(settings.Timeout.TotalSeconds * Stopwatch.Frequency);
        while (Consumed < Published && Stopwatch.GetTimestamp() < drainDeadline && !consuming.IsCompleted)
        {
            await Task.Delay(20, cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await stop.CancelAsync();
        await consuming;
        return new BenchResult(topic, info.Spec.Partitions, settings.Messages, settings.Size, settings.Rate, Published, Consumed,
            Interlocked.Read(ref _publishFailed), elapsed, Published / elapsed, Consumed / elapsed, View(_publish), View(_endToEnd));
    }

    private async Task PublishAsync(long started, CancellationToken cancellationToken)
    {
        await using var producer = client.CreateProducer(settings.Topic);
        using var window = new SemaphoreSlim(settings.InFlight);
        var pending = new List<Task>(settings.InFlight);
        for (var i = 0; i < settings.Messages; i++)
        {
            var scheduled = settings.Rate > 0 ? started + (long)(i * (double)Stopwatch.Frequency / settings.Rate) : Stopwatch.GetTimestamp();
            if (settings.Rate > 0)
            {
                var wait = scheduled - Stopwatch.GetTimestamp();
                if (wait > Stopwatch.Frequency / 1000)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken);
                }
            }

            await window.WaitAsync(cancellationToken);
            var body = new byte[settings.Size];
            BinaryPrimitives.WriteInt32LittleEndian(body, i);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(4), scheduled);
            pending.Add(PublishOneAsync(producer, body, scheduled, window));
            if (pending.Count >= settings.InFlight * 4)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
        }

        await Task.WhenAll(pending);
    }

    private async Task PublishOneAsync(IProducer producer, byte[] body, long scheduled, SemaphoreSlim window)
    {
        try
        {
            await producer.PublishAsync(new Message(body));
            _publish.Record(scheduled, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _published);
        }
        catch (OrleansMQException)
        {
            Interlocked.Increment(ref _publishFailed);
        }
        finally
        {
            window.Release();
        }
    }

    private async Task ConsumeAsync(CancellationToken cancellationToken)
    {
        await using var consumer = client.CreateConsumer(settings.Topic, Subscription, new ConsumerOptions { Prefetch = 1000, PollWait = TimeSpan.FromMilliseconds(500) });
        try
        {
            await foreach (var delivery in consumer.ConsumeAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var body = delivery.Message.Body.Span;
                if (body.Length >= 12)
                {
                    var sequence = BinaryPrimitives.ReadInt32LittleEndian(body);
                    if ((uint)sequence < (uint)_seen.Length && Interlocked.Exchange(ref _seen[sequence], 1) == 0)
                    {
                        _endToEnd.Record(BinaryPrimitives.ReadInt64LittleEndian(body[4..]), now);
                        Interlocked.Increment(ref _consumed);
                    }
                }

                // Not awaited inline (as a busy consumer would pipeline acks); a failed ack only means a redelivery, which is not counted twice.
                _ = delivery.AckAsync().ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run is over.
        }
    }

    private static LatencyView View(HistogramBase h) => h.TotalCount == 0
        ? new LatencyView(0, null, null, null, null, null, null)
        : new LatencyView(h.TotalCount, Ms(h.GetValueAtPercentile(50)), Ms(h.GetValueAtPercentile(90)), Ms(h.GetValueAtPercentile(99)),
            Ms(h.GetValueAtPercentile(99.9)), Ms(h.GetMaxValue()), Math.Round(h.GetMean() / 1000.0, 3));

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
}
