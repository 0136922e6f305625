namespace OrleansMQ.Fuzz;

/// <summary>Seeded byte-level mutations (afl-fuzz's havoc stage in miniature) for the corpus replay test.</summary>
internal sealed class Mutator(int seed)
{
    private static readonly long[] Interesting = [0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, int.MaxValue, int.MinValue, uint.MaxValue, 64 << 20, long.MaxValue, long.MinValue];
    private readonly Random _random = new(seed);

    /// <summary>A mutated copy of <paramref name="input"/>, possibly spliced with <paramref name="other"/>.</summary>
    public byte[] Mutate(byte[] input, byte[] other)
    {
        var bytes = new List<byte>(input);
        for (var n = _random.Next(1, 6); n > 0; n--)
        {
            var at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
            switch (_random.Next(8))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)_random.Next(256);
                    break;
                case 2:
                    bytes.InsertRange(at, RandomBytes(_random.Next(1, 16)));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, _random.Next(1, 16)));
                    break;
                case 4:
                    var value = BitConverter.GetBytes(Interesting[_random.Next(Interesting.Length)]);
                    var width = new[] { 1, 2, 4, 8 }[_random.Next(4)];
                    for (var i = 0; i < width && at + i < bytes.Count; i++)
                    {
                        bytes[at + i] = value[i];
                    }

                    break;
                case 5 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 6 when other.Length > 0:
                    var from = _random.Next(other.Length);
                    bytes.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, _random.Next(1, 64))).ToArray());
                    break;
                default:
                    if (bytes.Count > 1)
                    {
                        // Duplicate a chunk (repeated frames, repeated headers).
                        var start = _random.Next(bytes.Count);
                        bytes.InsertRange(at, bytes.GetRange(start, Math.Min(bytes.Count - start, _random.Next(1, 128))));
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Random bytes of a random length up to <paramref name="maxLength"/>.</summary>
    public byte[] RandomInput(int maxLength) => RandomBytes(_random.Next(maxLength + 1));

    /// <summary>A random index below <paramref name="count"/>.</summary>
    public int Next(int count) => _random.Next(count);

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }
}
