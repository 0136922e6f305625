using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Management.Rates;

/// <summary>
/// Listens to the <c>OrleansMQ</c> meter's message counters in this process and keeps per-second rates for the
/// management page's live charts. Rates are this silo's (the partitions and subscriptions it hosts); when the process
/// hosts a silo, each second's sample also goes to the <see cref="IRateBoardGrain"/>, which the page reads for the
/// cluster-wide rates (<see cref="ClusterRates"/>).
/// </summary>
public sealed partial class RateSampler : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly ILogger<RateSampler> _logger;
    private readonly MeterListener _listener = new();
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Queue<RateSample> _history = new();
    private readonly Lock _sync = new();
    private long _published;
    private long _delivered;
    private long _acked;
    private long _deadLettered;

    /// <summary>Creates the sampler (started as a hosted service).</summary>
    public RateSampler(TimeProvider time, IOptions<OrleansMQManagementOptions> options, IServiceProvider services, ILogger<RateSampler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _logger = logger;
        _time = time;
        _capacity = options.Value.RateHistorySeconds;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrleansMQTelemetry.Name && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "omq.messages.published": Interlocked.Add(ref _published, value); break;
                case "omq.messages.delivered": Interlocked.Add(ref _delivered, value); break;
                case "omq.messages.acked": Interlocked.Add(ref _acked, value); break;
                case "omq.messages.dead_lettered": Interlocked.Add(ref _deadLettered, value); break;
            }
        });
    }

    /// <summary>Totals counted since the silo started: published, delivered, acked, dead-lettered.</summary>
    public RateTotals Totals =>
        new(Interlocked.Read(ref _published), Interlocked.Read(ref _delivered), Interlocked.Read(ref _acked), Interlocked.Read(ref _deadLettered));

    /// <summary>The per-second history, oldest first.</summary>
    public IReadOnlyList<RateSample> History()
    {
        lock (_sync)
        {
            return [.. _history];
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _listener.Start();
        var last = Totals;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Totals;
                var sample = new RateSample(_time.GetUtcNow(), now.Published - last.Published, now.Delivered - last.Delivered, now.Acked - last.Acked, now.DeadLettered - last.DeadLettered);
                last = now;
                lock (_sync)
                {
                    _history.Enqueue(sample);
                    while (_history.Count > _capacity)
                    {
                        _history.Dequeue();
                    }
                }

                Report(now, sample);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    // One one-way grain call per second: the board keeps every silo's history for the page on any silo. Before the silo
    // is active (or while it is shutting down) the call fails; the next second tries again.
    private void Report(RateTotals totals, RateSample sample)
    {
        if (_services.GetService<ILocalSiloDetails>() is not { } silo)
        {
            return; // not a silo (a client-only host): nothing to report to
        }

        try
        {
            _ = _services.GetRequiredService<IGrainFactory>().GetGrain<IRateBoardGrain>(0)
                .ReportAsync(silo.SiloAddress.ToParsableString(), silo.Name, totals, sample, _capacity)
                .ContinueWith(t => LogReportFailed(t.Exception!.GetBaseException()), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is OrleansException or InvalidOperationException or ObjectDisposedException)
        {
            LogReportFailed(ex);
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "Could not report this silo's message rates to the rate board")]
    private partial void LogReportFailed(Exception exception);

    /// <inheritdoc />
    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }
}
