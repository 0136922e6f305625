using System.Globalization;
using System.Text;

namespace OrleansMQ.Faults.History;

/// <summary>
/// The body of a workload message: "producer:seq:" and a deterministic filler, so the checker can tell from a delivered
/// body alone which message it is and whether a single byte of it changed on the way.
/// </summary>
public static class MessageBody
{
    /// <summary>The body of message (<paramref name="producer"/>, <paramref name="seq"/>) with about <paramref name="size"/> bytes.</summary>
    public static string Create(string producer, long seq, int size)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"{producer}:{seq}:");
        var text = new StringBuilder(head, Math.Max(size, head.Length));
        var state = Fnv(head); // not string.GetHashCode: that one differs between processes
        while (text.Length < size)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            text.Append((char)('a' + (state % 26)));
        }

        return text.ToString();
    }

    /// <summary>Parses producer and seq from a body and checks the rest; false when it is not a workload body at all.</summary>
    public static bool TryParse(string body, out string producer, out long seq, out bool intact)
    {
        producer = "";
        seq = -1;
        intact = false;
        var first = body.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : body.IndexOf(':', first + 1);
        if (first <= 0 || second < 0 || !long.TryParse(body.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        producer = body[..first];
        intact = string.Equals(body, Create(producer, seq, body.Length), StringComparison.Ordinal);
        return true;
    }

    /// <summary>The key of message <paramref name="seq"/> when a producer spreads over <paramref name="keys"/> keys.</summary>
    public static string Key(long seq, int keys) => string.Create(CultureInfo.InvariantCulture, $"k{seq % keys}");

    private static uint Fnv(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash | 1;
    }
}
