using System.Collections.Concurrent;
using OrleansMQ.Grains;

namespace OrleansMQ.Client.Internal;

/// <summary>Caches topic metadata where messages enter, so the topic grain is not on the hot path.</summary>
internal sealed class TopicCache(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, Task<TopicInfo>> _topics = new(StringComparer.Ordinal);

    public Task<TopicInfo> GetAsync(string topic)
    {
        Names.Validate(topic, "topic");
        var task = _topics.GetOrAdd(topic, LoadAsync);
        if (task.IsFaulted || task.IsCanceled)
        {
            _topics.TryRemove(new KeyValuePair<string, Task<TopicInfo>>(topic, task));
            task = _topics.GetOrAdd(topic, LoadAsync);
        }

        return task;
    }

    public bool TryGetCached(string topic, out TopicInfo info)
    {
        if (_topics.TryGetValue(topic, out var task) && task.IsCompletedSuccessfully)
        {
            info = task.Result;
            return true;
        }

        info = null!;
        return false;
    }

    public void Invalidate(string topic) => _topics.TryRemove(topic, out _);

    private async Task<TopicInfo> LoadAsync(string topic) =>
        await grains.GetGrain<ITopicGrain>(topic).TryGetAsync().ConfigureAwait(false) ?? throw OrleansMQException.NotFound("Topic", topic);
}
