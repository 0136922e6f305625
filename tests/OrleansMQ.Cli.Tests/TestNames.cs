namespace OrleansMQ.Cli.Tests;

/// <summary>Unique entity names, so tests sharing one broker never see each other's topics.</summary>
internal static class TestNames
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
