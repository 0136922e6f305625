using Microsoft.Extensions.Options;

namespace OrleansMQ.Management;

internal sealed class OrleansMQManagementOptionsValidator : IValidateOptions<OrleansMQManagementOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansMQManagementOptions options)
    {
        var failures = new List<string>();
        if (options.RateHistorySeconds is < 10 or > 3600)
        {
            failures.Add($"Management:RateHistorySeconds is {options.RateHistorySeconds}; it must be 10–3600.");
        }

        if (options.DeadLettersShown is < 1 or > 1000)
        {
            failures.Add($"Management:DeadLettersShown is {options.DeadLettersShown}; it must be 1–1000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
