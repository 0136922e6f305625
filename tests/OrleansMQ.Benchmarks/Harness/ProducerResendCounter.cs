using System.Diagnostics.Metrics;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>Counts the producer's re-sent append batches (<c>omq.producer.resends</c>) for the whole run, by reason.</summary>
internal sealed class ProducerResendCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _outOfOrder;
    private long _other;

    public ProducerResendCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, OrleansMQTelemetry.ProducerResends))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason" && tag.Value as string == "out_of_order")
                {
                    Interlocked.Add(ref _outOfOrder, value);
                    return;
                }
            }

            Interlocked.Add(ref _other, value);
        });
        _listener.Start();
    }

    public string Summary => $"{Interlocked.Read(ref _outOfOrder):N0} refused out of order, {Interlocked.Read(ref _other):N0} after other failures";

    public void Dispose() => _listener.Dispose();
}
