namespace OrleansMQ.Server.Grains;

/// <summary>
/// What a partition remembers about one idempotent producer: the last sequence number it accepted and the offsets of
/// the most recent ones, so a retried batch is acknowledged with its original offsets instead of being appended twice.
/// </summary>
internal sealed class ProducerWindow(int capacity)
{
    private readonly long[] _offsets = new long[capacity];

    /// <summary>The highest sequence accepted (−1 when none).</summary>
    public long LastSequence { get; private set; } = -1;

    /// <summary>The offset a remembered sequence was written at, or null when it is older than the window.</summary>
    public long? OffsetOf(long sequence) =>
        sequence <= LastSequence && sequence > LastSequence - _offsets.Length ? _offsets[sequence % _offsets.Length] : null;

    public void Record(long sequence, long offset)
    {
        _offsets[sequence % _offsets.Length] = offset;
        LastSequence = Math.Max(LastSequence, sequence);
    }
}
