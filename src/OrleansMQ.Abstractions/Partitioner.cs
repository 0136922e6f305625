using System.IO.Hashing;
using System.Text;

namespace OrleansMQ;

/// <summary>
/// Maps keys to partitions: <c>partition = XxHash32(UTF-8(key), seed 0) mod partitions</c> (unsigned). Stable across
/// processes, versions and platforms, so every producer sends a key to the same partition.
/// </summary>
public static class Partitioner
{
    /// <summary>The partition for <paramref name="key"/> among <paramref name="partitions"/>.</summary>
    public static int ForKey(string key, int partitions)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        var maxBytes = Encoding.UTF8.GetMaxByteCount(key.Length);
        Span<byte> buffer = maxBytes <= 512 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        var n = Encoding.UTF8.GetBytes(key, buffer);
        var hash = XxHash32.HashToUInt32(buffer[..n]);
        return (int)(hash % (uint)partitions);
    }
}
