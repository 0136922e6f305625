using Microsoft.Extensions.Logging;
using OrleansMQ.Grains;

namespace OrleansMQ.Server.Hosting;

/// <summary>
/// When a silo becomes active, wakes the topics that have subscriber grains so their push loops run again, even if no
/// new message arrives to wake them (a backlog left from before a restart is pushed). In the background: start-up is
/// not held up, and a cluster where every silo does this is fine because resuming is idempotent.
/// </summary>
internal sealed partial class PushResumer(IGrainFactory grains, ILogger<PushResumer> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PushResumer), ServiceLifecycleStage.Active, OnActiveAsync, _ => Task.CompletedTask);

    private Task OnActiveAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(() => ResumeAsync(cancellationToken), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task ResumeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var topics = await grains.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key).ListWithSubscribersAsync();
            foreach (var topic in topics)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await grains.GetGrain<ITopicGrain>(topic).ResumePushAsync();
            }

            if (topics.Count > 0)
            {
                LogResumed(logger, topics.Count);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(1301, LogLevel.Information, "Resumed pushing to subscriber grains of {Count} topics")]
    private static partial void LogResumed(ILogger logger, int count);

    [LoggerMessage(1302, LogLevel.Warning, "Could not resume pushing to subscriber grains; they resume on the next publish")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
