namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>Unique, valid topic/queue/exchange names per test.</summary>
internal static class Unique
{
    public static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
