using System.Collections.Concurrent;
using System.Globalization;
using OrleansMQ.Client;

namespace OrleansMQ.ClientSample;

internal static class Commands
{
    /// <summary>Interactive chat: lines from stdin are sent; the room's messages are printed.</summary>
    public static async Task<int> ChatAsync(int[] gatewayPort, string room, string nick, TimeSpan history, CancellationToken cancellationToken)
    {
        await using var broker = await BrokerConnection.ConnectAsync(gatewayPort, cancellationToken);
        var chat = new ChatRoom(broker.Client, room);
        await chat.EnsureAsync(cancellationToken);
        await using var consumer = await chat.JoinAsync(nick, history, cancellationToken);
        await using var sender = chat.CreateSender();
        Console.WriteLine($"joined {chat.Topic} as {nick}; type a message and press enter (Ctrl+C to leave)");

        var printer = Task.Run(async () =>
        {
            await foreach (var d in consumer.ConsumeAsync(cancellationToken))
            {
                Console.WriteLine(ChatRoom.Format(d));
                await d.AckAsync(cancellationToken);
            }
        }, cancellationToken);

        while (!cancellationToken.IsCancellationRequested && await Console.In.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                await sender.PublishAsync(ChatRoom.Say(nick, line), cancellationToken);
            }
        }

        return 0;
    }

    /// <summary>
    /// The non-interactive walkthrough a test drives: a chat with history replay, then a worker queue with competing
    /// consumers where a poison message ends up in the dead-letter topic. Exit code 0 only when every check held.
    /// </summary>
    public static async Task<int> DemoAsync(int[] gatewayPort, string runId, CancellationToken cancellationToken)
    {
        await using var broker = await BrokerConnection.ConnectAsync(gatewayPort, cancellationToken);
        var mq = broker.Client;
        var failures = new List<string>();

        // --- chat: alice talks, bob joins later and replays the history, then answers.
        var chat = new ChatRoom(mq, $"demo-{runId}");
        await chat.EnsureAsync(cancellationToken);
        await using (var alice = await chat.JoinAsync("alice", TimeSpan.FromHours(1), cancellationToken))
        await using (var sender = chat.CreateSender())
        {
            for (var i = 1; i <= 5; i++)
            {
                await sender.PublishAsync(ChatRoom.Say("alice", $"hello {i}"), cancellationToken);
            }

            await using var bob = await chat.JoinAsync("bob", TimeSpan.FromHours(1), cancellationToken);
            var bobSaw = await TakeAsync(bob, 5, cancellationToken);
            Check(failures, bobSaw.Select(d => d.BodyAsString()).SequenceEqual(Enumerable.Range(1, 5).Select(i => $"hello {i}")), "bob replays alice's history in order");
            await sender.PublishAsync(ChatRoom.Say("bob", "hi alice"), cancellationToken);
            var aliceSaw = await TakeAsync(alice, 6, cancellationToken);
            Check(failures, aliceSaw[^1].BodyAsString() == "hi alice" && aliceSaw[^1].Message.Headers[ChatRoom.NickHeader] == "bob", "alice gets bob's answer after her own messages");
            foreach (var d in aliceSaw)
            {
                Console.WriteLine(ChatRoom.Format(d));
            }
        }

        // --- worker queue: competing consumers; the poison message is dead-lettered after 3 deliveries.
        var queue = $"jobs-{runId}";
        await mq.Admin.CreateQueueAsync(queue, new QueueSpec { Partitions = 2, MaxDeliveries = 3, NackBackoffInitial = TimeSpan.Zero, AckTimeout = TimeSpan.FromSeconds(10) }, cancellationToken);
        await using (var producer = mq.CreateProducer(queue))
        {
            await producer.PublishBatchAsync(Enumerable.Range(1, 20).Select(i => Message.FromText($"job {i}")).Append(Message.FromText("poison")), cancellationToken);
        }

        var done = new ConcurrentDictionary<string, string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(60));
        var dlqTopic = $"{queue}.{IOrleansMQAdmin.QueueSubscription}.dlq";

        async Task WorkAsync(string name)
        {
            await using var worker = mq.CreateQueueConsumer(queue, new ConsumerOptions { ConsumerId = name, Prefetch = 4, PollWait = TimeSpan.FromMilliseconds(500) });
            try
            {
                await foreach (var d in worker.ConsumeAsync(stop.Token))
                {
                    if (d.BodyAsString() == "poison")
                    {
                        await d.NackAsync("cannot parse job", stop.Token);
                        continue;
                    }

                    done.TryAdd(d.BodyAsString(), name);
                    await d.AckAsync(stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        var workers = new[] { WorkAsync("worker-a"), WorkAsync("worker-b") };
        while (!stop.IsCancellationRequested)
        {
            var dlq = (await mq.Admin.GetPartitionsAsync(dlqTopic, cancellationToken))[0];
            if (done.Count == 20 && dlq.HighWatermark == 1)
            {
                break;
            }

            await Task.Delay(100, cancellationToken);
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Check(failures, done.Count == 20, $"all 20 jobs done ({done.Count})");
        Console.WriteLine($"worker-a did {done.Values.Count(v => v == "worker-a")} jobs, worker-b did {done.Values.Count(v => v == "worker-b")}");
        var dead = (await mq.Admin.GetPartitionsAsync(dlqTopic, cancellationToken))[0];
        Check(failures, dead.HighWatermark == 1, $"the poison message is in {dlqTopic}");

        foreach (var f in failures)
        {
            Console.Error.WriteLine($"FAILED: {f}");
        }

        Console.WriteLine(failures.Count == 0 ? "demo: all checks passed" : $"demo: {failures.Count} checks failed");
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>Publishes <paramref name="count"/> numbered messages and prints "ACK seq partition offset" for each acknowledged one.</summary>
    public static async Task<int> PublishAsync(int[] gatewayPort, string topic, int count, int partitions, CancellationToken cancellationToken)
    {
        await using var broker = await BrokerConnection.ConnectAsync(gatewayPort, cancellationToken);
        try
        {
            await broker.Client.Admin.CreateTopicAsync(topic, new TopicSpec { Partitions = partitions }, cancellationToken);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.AlreadyExists)
        {
        }

        await using var producer = broker.Client.CreateProducer(topic);
        var window = new SemaphoreSlim(256);
        var pending = new List<Task>();
        var output = TextWriter.Synchronized(Console.Out);
        for (var i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
        {
            await window.WaitAsync(cancellationToken);
            var seq = i;
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    var receipt = await producer.PublishAsync(Message.FromText($"seq-{seq}", key: $"k{seq % 16}"), cancellationToken);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ACK {seq} {receipt.Partition} {receipt.Offset}"));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FAIL {seq} {ex.GetType().Name}"));
                }
                finally
                {
                    window.Release();
                }
            }, cancellationToken));
        }

        await Task.WhenAll(pending);
        output.Flush();
        return 0;
    }

    /// <summary>Reads the whole topic from the start and checks that every sequence in the acked file is there.</summary>
    public static async Task<int> VerifyAsync(int[] gatewayPort, string topic, FileInfo ackedFile, CancellationToken cancellationToken)
    {
        var acked = (await File.ReadAllLinesAsync(ackedFile.FullName, cancellationToken))
            .Where(l => l.StartsWith("ACK ", StringComparison.Ordinal))
            .Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))
            .ToHashSet();
        await using var broker = await BrokerConnection.ConnectAsync(gatewayPort, cancellationToken);
        var mq = broker.Client;
        var partitions = await mq.Admin.GetPartitionsAsync(topic, cancellationToken);
        var total = partitions.Sum(p => p.HighWatermark - p.LowWatermark);
        var subscription = $"verify-{Guid.NewGuid():N}";
        await mq.Admin.CreateSubscriptionAsync(topic, subscription, new SubscriptionSpec { Type = SubscriptionType.Exclusive, Start = StartPosition.Earliest, MaxDeliveries = 0 }, cancellationToken);
        var seen = new Dictionary<int, int>();
        await using (var consumer = mq.CreateConsumer(topic, subscription, new ConsumerOptions { Prefetch = 1000, PollWait = TimeSpan.FromSeconds(1) }))
        {
            foreach (var d in await TakeAsync(consumer, (int)total, cancellationToken))
            {
                var seq = int.Parse(d.BodyAsString().AsSpan(4), CultureInfo.InvariantCulture);
                seen[seq] = seen.GetValueOrDefault(seq) + 1;
            }
        }

        await mq.Admin.DeleteSubscriptionAsync(topic, subscription, cancellationToken);
        var missing = acked.Where(s => !seen.ContainsKey(s)).Order().ToList();
        var duplicates = seen.Values.Sum(n => n - 1);
        Console.WriteLine($"verify: {acked.Count} acknowledged, {seen.Count} distinct stored, {duplicates} duplicates, {missing.Count} missing");
        if (missing.Count > 0)
        {
            Console.WriteLine($"missing: {string.Join(' ', missing.Take(50))}");
        }

        return missing.Count == 0 ? 0 : 1;
    }

    private static async Task<List<Delivery>> TakeAsync(IConsumer consumer, int count, CancellationToken cancellationToken)
    {
        var result = new List<Delivery>(count);
        if (count == 0)
        {
            return result;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var acks = new List<Task>(count);
        await foreach (var d in consumer.ConsumeAsync(timeout.Token))
        {
            result.Add(d);
            acks.Add(d.AckAsync(timeout.Token)); // not awaited one by one: the client batches acks
            if (result.Count == count)
            {
                break;
            }
        }

        await Task.WhenAll(acks);
        return result;
    }

    private static void Check(List<string> failures, bool condition, string what)
    {
        Console.WriteLine($"{(condition ? "ok  " : "FAIL")} {what}");
        if (!condition)
        {
            failures.Add(what);
        }
    }
}
