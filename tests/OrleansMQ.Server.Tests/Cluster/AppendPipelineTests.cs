using OrleansMQ.Client;
using OrleansMQ.Grains;

namespace OrleansMQ.Tests.Cluster;

/// <summary>
/// The producer's pipelined appends against a real partition grain. The append delegate is the real grain call with
/// the network's misbehaviour injected around it: a batch held back so later ones overtake it, a lost answer, a refusal.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AppendPipelineTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private BrokerCluster Broker => fixture.Broker;

    [Fact]
    public async Task Batches_that_overtake_a_held_back_batch_are_refused_then_resent_in_publish_order()
    {
        var (topic, grain) = await NewPartitionAsync("pipe-order");
        var calls = 0;
        var overtakersAnswered = 0;
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = 0;
        var pipeline = new AppendPipeline(async request =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                await releaseFirst.Task;
            }

            try
            {
                return await grain.AppendAsync(request);
            }
            catch (OrleansMQException ex) when (ex.Code == ErrorCode.OutOfOrderSequence)
            {
                Interlocked.Add(ref refused, request.Messages.Count);
                throw;
            }
            finally
            {
                // Release the held-back m0 once a batch that overtook it was answered (refused): after a failure the
                // pipeline sends nothing new until everything in flight answered, so waiting for more could deadlock.
                if (n > 1 && Interlocked.Add(ref overtakersAnswered, request.Messages.Count) >= 1)
                {
                    releaseFirst.TrySetResult();
                }
            }
        }, () => { }, new ProducerOptions { MaxInFlightBatches = 5, MaxBatchMessages = 1 }, TestNames.Unique("producer"));

        // Up to five batches go out at once (one message each, five in flight); the first (m0) is held back and every
        // message that overtakes it is refused.
        var first = Enumerable.Range(0, 5).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        await releaseFirst.Task.WaitAsync(Deadline);
        var later = Enumerable.Range(5, 5).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        var receipts = await Task.WhenAll(first.Concat(later)).WaitAsync(Deadline);
        await pipeline.FlushAsync().WaitAsync(Deadline);

        // Messages refused as out of order: those that overtook m0 before it was written. At least one of the first
        // five; the later five too when they leave before the pipeline has seen a refusal (it stops sending only then).
        Assert.InRange(refused, 1, 9);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), receipts.Select(r => r.Offset));
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), await ReadAllAsync(grain, 10));
    }

    [Fact]
    public async Task Describe_names_the_batch_in_flight_and_what_waits_behind_it()
    {
        var (_, grain) = await NewPartitionAsync("pipe-describe");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = new AppendPipeline(async request =>
        {
            sent.TrySetResult();
            await release.Task;
            return await grain.AppendAsync(request);
        }, () => { }, new ProducerOptions(), TestNames.Unique("producer"));

        var first = pipeline.AddAsync(Message.FromText("m0"));
        await sent.Task.WaitAsync(Deadline); // sent from a thread-pool thread, gathering what comes meanwhile
        var behind = new[] { pipeline.AddAsync(Message.FromText("m1")), pipeline.AddAsync(Message.FromText("m2")) };
        var held = pipeline.Describe();
        release.SetResult();
        await Task.WhenAll([first, .. behind]).WaitAsync(Deadline);
        await pipeline.FlushAsync().WaitAsync(Deadline);

        Assert.Matches(@"^queued 2, epoch 0, next sequence 1; batch 0/0 x1 sent \d+\.\d s ago$", held);
        Assert.Equal("queued 0, epoch 0, next sequence 3", pipeline.Describe());
    }

    [Fact]
    public async Task A_batch_whose_answer_was_lost_is_retried_and_acknowledged_as_a_duplicate_without_reordering()
    {
        var (topic, grain) = await NewPartitionAsync("pipe-lost");
        var calls = 0;
        var pipeline = new AppendPipeline(async request =>
        {
            var n = Interlocked.Increment(ref calls);
            var receipts = await grain.AppendAsync(request);
            if (n == 1)
            {
                // Written, but the answer never arrives.
                throw new TimeoutException("injected: answer lost");
            }

            return receipts;
        }, () => { }, new ProducerOptions { MaxInFlightBatches = 5, MaxBatchMessages = 1 }, TestNames.Unique("producer"));

        var publishes = Enumerable.Range(0, 3).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        var receipts = await Task.WhenAll(publishes).WaitAsync(Deadline);
        await pipeline.FlushAsync().WaitAsync(Deadline);
        var next = await pipeline.AddAsync(Message.FromText("m3")).WaitAsync(Deadline);

        Assert.Equal(new PublishReceipt(0, 0, Duplicate: true), receipts[0]);
        Assert.Equal([1L, 2L], receipts.Skip(1).Select(r => r.Offset));
        Assert.Equal(3, next.Offset);
        Assert.False(next.Duplicate);
        Assert.Equal(["m0", "m1", "m2", "m3"], await ReadAllAsync(grain, 10));
        Assert.Equal(4, (await grain.GetInfoAsync()).HighWatermark);
    }

    [Fact]
    public async Task A_refused_batch_leaves_no_sequence_gap_for_the_batches_behind_it()
    {
        var (topic, grain) = await NewPartitionAsync("pipe-hole");
        var calls = 0;
        var othersAnswered = 0;
        var refuseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = new AppendPipeline(async request =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                // Refused before anything was written, after the messages behind it reached the partition (and were refused).
                await refuseFirst.Task;
                throw new OrleansMQException(ErrorCode.InvalidArgument, "injected refusal");
            }

            try
            {
                return await grain.AppendAsync(request);
            }
            finally
            {
                // Release the refusal once a batch behind it was answered (refused): after a failure the pipeline sends
                // nothing new until everything in flight answered, so waiting for more could deadlock.
                if (Interlocked.Add(ref othersAnswered, request.Messages.Count) >= 1)
                {
                    refuseFirst.TrySetResult();
                }
            }
        }, () => { }, new ProducerOptions { MaxInFlightBatches = 5, MaxBatchMessages = 1 }, TestNames.Unique("producer"));

        var publishes = Enumerable.Range(0, 3).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        var refused = await Assert.ThrowsAsync<OrleansMQException>(() => publishes[0].WaitAsync(Deadline));
        var receipts = await Task.WhenAll(publishes.Skip(1)).WaitAsync(Deadline);
        var next = await pipeline.AddAsync(Message.FromText("m3")).WaitAsync(Deadline);

        Assert.Equal(ErrorCode.InvalidArgument, refused.Code);
        Assert.Equal([0L, 1L], receipts.Select(r => r.Offset));
        Assert.Equal(2, next.Offset);
        Assert.Equal(["m1", "m2", "m3"], await ReadAllAsync(grain, 10));
    }

    [Fact]
    public async Task After_an_ambiguous_failure_the_batches_behind_it_move_to_a_new_epoch_in_order()
    {
        var (topic, grain) = await NewPartitionAsync("pipe-epoch");
        var calls = 0;
        var othersAnswered = 0;
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var producerIds = new List<string?>();
        var pipeline = new AppendPipeline(async request =>
        {
            lock (producerIds)
            {
                producerIds.Add(request.ProducerId);
            }

            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                // Overtaken, then written, then the outcome is reported as unknown (not retried: a cancellation).
                await releaseFirst.Task;
                await grain.AppendAsync(request);
                throw new OperationCanceledException("injected: outcome unknown");
            }

            try
            {
                return await grain.AppendAsync(request);
            }
            finally
            {
                // Release the first once a batch behind it was answered (refused): after a failure the pipeline sends
                // nothing new until everything in flight answered, so waiting for more could deadlock.
                if (Interlocked.Add(ref othersAnswered, request.Messages.Count) >= 1)
                {
                    releaseFirst.TrySetResult();
                }
            }
        }, () => { }, new ProducerOptions { MaxInFlightBatches = 5, MaxBatchMessages = 1 }, TestNames.Unique("producer"));

        var publishes = Enumerable.Range(0, 3).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publishes[0].WaitAsync(Deadline));
        var receipts = await Task.WhenAll(publishes.Skip(1)).WaitAsync(Deadline);
        var next = await pipeline.AddAsync(Message.FromText("m3")).WaitAsync(Deadline);

        Assert.Equal([1L, 2L, 3L], receipts.Append(next).Select(r => r.Offset));
        Assert.Equal(["m0", "m1", "m2", "m3"], await ReadAllAsync(grain, 10));
        lock (producerIds)
        {
            Assert.EndsWith(".0", producerIds[0]);
            Assert.EndsWith(".1", producerIds[^1]);
        }
    }

    [Fact]
    public async Task A_producer_with_several_batches_in_flight_keeps_publish_order_per_partition()
    {
        var topic = TestNames.Unique("pipe-producer");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 2 });
        await using var producer = Broker.Client.CreateProducer(topic, new ProducerOptions { MaxInFlightBatches = 8, MaxBatchMessages = 3 });
        var publishes = Enumerable.Range(0, 300).Select(i => producer.PublishAsync(Message.FromText($"{i}", key: $"k{i % 2}")).AsTask()).ToList();
        var receipts = await Task.WhenAll(publishes).WaitAsync(Deadline);

        foreach (var group in receipts.Select((r, i) => (r, i)).GroupBy(x => x.r.Partition))
        {
            // Offsets follow publish order within each partition, with no gaps and no duplicates.
            Assert.Equal(Enumerable.Range(0, group.Count()).Select(i => (long)i), group.Select(x => x.r.Offset));
            var grain = Broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, group.Key));
            Assert.Equal(group.Select(x => $"{x.i}"), await ReadAllAsync(grain, 1000));
        }
    }

    [Fact]
    public async Task A_producer_that_is_not_idempotent_keeps_one_batch_in_flight_whatever_the_limit()
    {
        var (_, grain) = await NewPartitionAsync("pipe-plain");
        var calls = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sizes = new List<int>();
        var pipeline = new AppendPipeline(async request =>
        {
            Assert.Null(request.ProducerId);
            lock (sizes)
            {
                sizes.Add(request.Messages.Count);
            }

            if (Interlocked.Increment(ref calls) == 1)
            {
                await release.Task;
            }

            return await grain.AppendAsync(request);
        }, () => { }, new ProducerOptions { MaxInFlightBatches = 5, MaxBatchMessages = 1, Idempotent = false }, TestNames.Unique("producer"));

        var publishes = Enumerable.Range(0, 3).Select(i => pipeline.AddAsync(Message.FromText($"m{i}"))).ToList();
        // A full batch (one message here) is sent synchronously in AddAsync, so a second one would already have been sent here.
        Assert.Equal(1, Volatile.Read(ref calls));
        release.SetResult();
        var receipts = await Task.WhenAll(publishes).WaitAsync(Deadline);

        Assert.Equal([0L, 1L, 2L], receipts.Select(r => r.Offset));
        lock (sizes)
        {
            Assert.Equal([1, 1, 1], sizes);
        }

        Assert.Equal(["m0", "m1", "m2"], await ReadAllAsync(grain, 10));
    }

    [Fact]
    public async Task Unkeyed_publishes_stick_to_one_partition_while_its_batch_gathers_then_move_on()
    {
        var topic = TestNames.Unique("pipe-sticky");
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 4 });
        await using var producer = Broker.Client.CreateProducer(topic, new ProducerOptions { Linger = TimeSpan.FromSeconds(1) });

        async Task<PublishReceipt[]> BurstAsync(int first) =>
            await Task.WhenAll(Enumerable.Range(first, 5).Select(i => producer.PublishAsync(Message.FromText($"m{i}")).AsTask())).WaitAsync(Deadline);

        var burst1 = await BurstAsync(0);
        var burst2 = await BurstAsync(5);

        // Each burst waited out the linger on one partition and went as one batch; the next burst starts on another.
        Assert.Single(burst1.Select(r => r.Partition).Distinct());
        Assert.Single(burst2.Select(r => r.Partition).Distinct());
        Assert.NotEqual(burst1[0].Partition, burst2[0].Partition);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), burst1.Select(r => r.Offset));
        var grain = Broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, burst2[0].Partition));
        Assert.Equal(Enumerable.Range(5, 5).Select(i => $"m{i}"), await ReadAllAsync(grain, 10));
    }

    [Fact]
    public async Task Without_a_linger_an_idle_partitions_batch_leaves_from_a_thread_pool_thread_not_the_publishers()
    {
        var (_, grain) = await NewPartitionAsync("pipe-sender");
        var onPool = new List<bool>();
        var sizes = new List<int>();
        var pipeline = new AppendPipeline(request =>
        {
            lock (sizes)
            {
                onPool.Add(Thread.CurrentThread.IsThreadPoolThread);
                sizes.Add(request.Messages.Count);
            }

            return grain.AppendAsync(request);
        }, () => { }, new ProducerOptions(), TestNames.Unique("producer"));

        // Published from a dedicated thread, as a pacing or I/O thread of an application would.
        Task<PublishReceipt>[] publishes = [];
        var publisher = new Thread(() => publishes = [.. Enumerable.Range(0, 3).Select(i => pipeline.AddAsync(Message.FromText($"m{i}")))]);
        publisher.Start();
        publisher.Join();
        var receipts = await Task.WhenAll(publishes).WaitAsync(Deadline);

        Assert.Equal([0L, 1L, 2L], receipts.Select(r => r.Offset));
        lock (sizes)
        {
            Assert.True(onPool[0], "the first batch must be sent by a thread-pool thread");
            Assert.Equal(3, sizes.Sum());
        }

        Assert.Equal(["m0", "m1", "m2"], await ReadAllAsync(grain, 10));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void MaxInFlightBatches_outside_1_to_100_is_refused_with_its_value(int value)
    {
        var ex = Assert.Throws<OrleansMQException>(() => Broker.Client.CreateProducer(TestNames.Unique("pipe-bad"), new ProducerOptions { MaxInFlightBatches = value }));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    private async Task<(string Topic, IPartitionGrain Grain)> NewPartitionAsync(string prefix)
    {
        var topic = TestNames.Unique(prefix);
        await Broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = 1 });
        return (topic, Broker.Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(topic, 0)));
    }

    private static async Task<List<string>> ReadAllAsync(IPartitionGrain grain, int max)
    {
        var read = await grain.ReadAsync(0, max, 1 << 20);
        return [.. read.Messages.Select(m => m.BodyAsString())];
    }
}
