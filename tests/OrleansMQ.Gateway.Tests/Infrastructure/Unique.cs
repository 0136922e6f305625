namespace OrleansMQ.Gateway.Tests.Infrastructure;

/// <summary>Unique, valid topic/queue/exchange names per test.</summary>
internal static class Unique
{
    public static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary><c>prefix.xxxxxxxxxxxx</c>: a name that access rule patterns like <c>orders.*</c> match.</summary>
    public static string Dotted(string prefix) => $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
