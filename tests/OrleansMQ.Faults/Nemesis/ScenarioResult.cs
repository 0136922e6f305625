using System.Globalization;
using System.Text;
using OrleansMQ.Faults.Checking;

namespace OrleansMQ.Faults.Nemesis;

/// <summary>What one scenario did and what the checker found.</summary>
/// <param name="Scenario">The scenario name.</param>
/// <param name="Seed">The nemesis seed.</param>
/// <param name="Faults">Every fault injected, with the time since the scenario started.</param>
/// <param name="Checks">The checker's report per check (a scenario may check its runs separately).</param>
/// <param name="Notes">Other findings (silo log lines counted, recovery reports).</param>
/// <param name="Elapsed">How long the scenario ran.</param>
public sealed record ScenarioResult(string Scenario, int Seed, IReadOnlyList<string> Faults, IReadOnlyList<(string Name, CheckReport Report)> Checks, IReadOnlyList<string> Notes, TimeSpan Elapsed)
{
    /// <summary>Every check passed and no note says otherwise.</summary>
    public bool Passed => Checks.Count > 0 && Checks.All(c => c.Report.Passed) && Problems.Count == 0;

    /// <summary>Problems the scenario found outside the checker (e.g. recovery did not report a corruption).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Stale writes refused by log fencing, when the scenario counts them (cluster-pause); otherwise null.</summary>
    public int? FencedAttempts { get; init; }

    /// <summary>A Markdown section for the report.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## {Scenario} (seed {Seed}, {Elapsed.TotalSeconds:0} s): {(Passed ? "PASSED" : "FAILED")}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Faults injected ({Faults.Count}):");
        foreach (var fault in Faults)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {fault}");
        }

        if (FencedAttempts is { } fenced)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- fenced attempts: {fenced}");
        }

        foreach (var note in Notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- note: {note}");
        }

        foreach (var problem in Problems)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- PROBLEM: {problem}");
        }

        foreach (var (name, report) in Checks)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Check {name}:");
            text.AppendLine("```");
            text.AppendLine(report.Describe());
            text.AppendLine("```");
        }

        return text.ToString();
    }
}
