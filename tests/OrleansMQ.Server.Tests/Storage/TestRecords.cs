using OrleansMQ.Server.Storage;

namespace OrleansMQ.Tests.Storage;

internal static class TestRecords
{
    public static readonly DateTimeOffset BaseTime = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A record with every field set; all records of the same <paramref name="bodyBytes"/> have the same encoded size.</summary>
    public static LogRecord Create(int i, int bodyBytes = 300, DateTimeOffset? timestamp = null) => new()
    {
        Timestamp = timestamp ?? BaseTime.AddMinutes(i),
        Key = $"key-{i % 1000:D3}",
        MessageId = $"msg-{i:D8}",
        ContentType = "application/octet-stream",
        Headers = new Dictionary<string, string> { ["h1"] = $"v{i % 10}", ["trace"] = "abc" },
        ProducerId = "producer-1",
        Sequence = i,
        Body = Body(i, bodyBytes),
    };

    public static byte[] Body(int i, int bodyBytes)
    {
        var body = new byte[bodyBytes];
        for (var b = 0; b < body.Length; b++)
        {
            body[b] = (byte)(i * 31 + b);
        }

        return body;
    }

    public static LogRecord[] Range(int first, int count, int bodyBytes = 300) =>
        Enumerable.Range(first, count).Select(i => Create(i, bodyBytes)).ToArray();

    public static int FrameSize(int bodyBytes = 300) => LogRecordCodec.GetFrameSize(Create(0, bodyBytes));

    public static void AssertSame(LogRecord expected, LogRecord actual)
    {
        Assert.Equal(expected.Offset, actual.Offset);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        Assert.Equal(expected.Timestamp.Offset, actual.Timestamp.Offset);
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.MessageId, actual.MessageId);
        Assert.Equal(expected.ContentType, actual.ContentType);
        Assert.Equal(expected.ProducerId, actual.ProducerId);
        Assert.Equal(expected.Sequence, actual.Sequence);
        Assert.Equal(expected.Body.ToArray(), actual.Body.ToArray());
        var expectedHeaders = expected.Headers ?? new Dictionary<string, string>();
        var actualHeaders = actual.Headers ?? new Dictionary<string, string>();
        Assert.Equal(expectedHeaders.OrderBy(h => h.Key, StringComparer.Ordinal), actualHeaders.OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    public static async Task<List<LogRecord>> ReadAllAsync(IMessageLog log, long from = 0)
    {
        var result = new List<LogRecord>();
        while (true)
        {
            var batch = await log.ReadAsync(from, 1000, 1 << 20);
            if (batch.Count == 0)
            {
                return result;
            }

            result.AddRange(batch);
            from = batch[^1].Offset + 1;
        }
    }
}
