namespace OrleansMQ.Fuzz;

/// <summary>A decoder accepted an input but broke one of its promises (round trip, progress, a limit).</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message)
{
    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(message);
        }
    }
}
