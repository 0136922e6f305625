using System.Diagnostics.Metrics;

namespace OrleansMQ.Server.Telemetry;

/// <summary>
/// One time series of an observable gauge: a grain sets it during its turns, the meter's collection thread reads it.
/// Grain state is never read from the collection thread; only this one value crosses threads.
/// </summary>
internal sealed class GaugeCell(KeyValuePair<string, object?>[] tags)
{
    private long _value;

    public void Set(long value) => Volatile.Write(ref _value, value);

    public Measurement<long> Measure() => new(Volatile.Read(ref _value), tags);
}
