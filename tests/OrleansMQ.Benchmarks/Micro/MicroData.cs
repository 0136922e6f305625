using OrleansMQ.Server.Storage;

namespace OrleansMQ.Benchmarks.Micro;

internal static class MicroData
{
    /// <summary>A record shaped like the harness's publishes: a body, an idempotent producer id and sequence, no key or headers.</summary>
    public static LogRecord Record(int bodyBytes, long sequence)
    {
        var body = new byte[bodyBytes];
        new Random(7).NextBytes(body);
        return new LogRecord
        {
            Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Body = body,
            ProducerId = "3f2a9c1e5b7d4e0f8a6c2b1d9e7f5a3c.0",
            Sequence = sequence,
        };
    }
}
