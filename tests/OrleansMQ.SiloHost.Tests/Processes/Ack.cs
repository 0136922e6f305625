using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansMQ.SiloHost.Tests.Processes;

/// <summary>One acknowledged publish as <c>omq-sample publish</c> prints it: <c>ACK seq partition offset</c>.</summary>
internal readonly partial record struct Ack(int Seq, int Partition, long Offset)
{
    /// <summary>
    /// The well-formed ACK lines among <paramref name="lines"/>. A killed publisher may leave a cut-off last line; it
    /// does not match and is left out, which only makes the acknowledged set smaller (never claims an unacked message).
    /// </summary>
    public static List<Ack> Parse(IEnumerable<string> lines)
    {
        var acks = new List<Ack>();
        foreach (var line in lines)
        {
            var match = AckLine().Match(line);
            if (match.Success)
            {
                acks.Add(new Ack(
                    int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture),
                    int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture),
                    long.Parse(match.Groups[3].ValueSpan, CultureInfo.InvariantCulture)));
            }
        }

        return acks;
    }

    public static bool IsAckLine(string line) => AckLine().IsMatch(line);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"ACK {Seq} {Partition} {Offset}");

    [GeneratedRegex(@"^ACK (\d+) (\d+) (\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex AckLine();
}
