namespace OrleansMQ.Tests.Cluster;

public static class TestNames
{
    private static int _counter;

    /// <summary>A unique topic name per test so tests sharing a cluster never see each other's data.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..8]}";
}
