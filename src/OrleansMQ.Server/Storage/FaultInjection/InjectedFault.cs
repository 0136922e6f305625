using System.Globalization;

namespace OrleansMQ.Server.Storage;

/// <summary>The fault a <see cref="FaultInjectingMessageLogFactory"/> currently injects (parsed from its control file).</summary>
internal sealed record InjectedFault(InjectedFaultKind Kind, TimeSpan Delay)
{
    /// <summary>No fault.</summary>
    public static readonly InjectedFault None = new(InjectedFaultKind.None, TimeSpan.Zero);

    /// <summary>Parses a control line: none | fail | full | slow &lt;ms&gt;.</summary>
    public static InjectedFault Parse(string? line)
    {
        var parts = (line ?? "").Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts switch
        {
            [] or ["none"] => None,
            ["fail"] => new(InjectedFaultKind.Fail, TimeSpan.Zero),
            ["full"] => new(InjectedFaultKind.DiskFull, TimeSpan.Zero),
            ["slow", var ms] when int.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var delay) => new(InjectedFaultKind.Slow, TimeSpan.FromMilliseconds(delay)),
            _ => throw new FormatException($"Fault injection control line '{line}' is not one of: none, fail, full, slow <ms>."),
        };
    }
}

/// <summary>What an injected fault does.</summary>
internal enum InjectedFaultKind
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>Appends throw an I/O error.</summary>
    Fail,

    /// <summary>Appends throw ENOSPC.</summary>
    DiskFull,

    /// <summary>Appends and reads wait first.</summary>
    Slow,
}
