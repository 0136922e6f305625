using System.Text;
using OrleansMQ.Server.Routing;

namespace OrleansMQ.Fuzz.Targets;

/// <summary>
/// <see cref="MessageFilter.Parse"/> on arbitrary text (the input as UTF-8), then <see cref="MessageFilter.Matches"/>
/// on messages with JSON, non-JSON and deeply nested bodies. Bad input: <see cref="OrleansMQException"/> with
/// <see cref="ErrorCode.InvalidArgument"/> only, at parse time; a parsed filter never throws while matching.
/// </summary>
internal sealed class FilterTarget : IFuzzTarget
{
    public const string TargetName = "filter";

    private static readonly Message[] Samples =
    [
        new(Encoding.UTF8.GetBytes("{\"amount\":150,\"region\":\"eu\",\"items\":[1,2,{\"a\":null}],\"n\":{\"m\":true}}"))
        {
            Key = "order-1", ContentType = "application/json", Headers = new Dictionary<string, string> { ["currency"] = "EUR", ["vip"] = "", ["n"] = "1e308" },
        },
        new(Encoding.UTF8.GetBytes("not json {")) { Headers = new Dictionary<string, string> { ["currency"] = "-0" } },
        new(Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200))),
        new(ReadOnlyMemory<byte>.Empty),
    ];

    public string Name => TargetName;

    public bool IsExpected(Exception exception) => exception is OrleansMQException { Code: ErrorCode.InvalidArgument };

    public void Run(ReadOnlySpan<byte> data)
    {
        var filter = MessageFilter.Parse(Encoding.UTF8.GetString(data));
        foreach (var message in Samples)
        {
            try
            {
                filter.Matches(message);
            }
            catch (Exception ex)
            {
                throw new FuzzInvariantException($"filter '{filter.Text}' threw while matching: {ex}");
            }
        }
    }
}
