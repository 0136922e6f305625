namespace OrleansMQ.Client;

/// <summary>Publishes to one topic. Thread-safe; keep one per topic for the lifetime of the app.</summary>
public interface IProducer : IAsyncDisposable
{
    /// <summary>The topic.</summary>
    string Topic { get; }

    /// <summary>
    /// Publishes one message. Completes with its partition and offset once the broker has written it durably; the
    /// message is batched with others published at the same time. Throws <see cref="OrleansMQException"/> for bad input
    /// (<see cref="ErrorCode.MessageTooLarge"/>, …), a missing topic, or <see cref="ErrorCode.BacklogFull"/>.
    /// </summary>
    ValueTask<PublishReceipt> PublishAsync(Message message, CancellationToken cancellationToken = default);

    /// <summary>Publishes many messages; receipts in the same order. Messages are validated before any is sent.</summary>
    Task<IReadOnlyList<PublishReceipt>> PublishBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken = default);

    /// <summary>Completes when everything published so far has been sent.</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
