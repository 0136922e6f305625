using OrleansMQ.Testing.Azure;

namespace OrleansMQ.Benchmarks.Harness;

/// <summary>
/// The run's private Azurite (<see cref="AzuriteProcess"/>): <c>$OMQ_AZURITE_BIN</c> or the repository's
/// <c>.tools/azurite</c> install (the one <c>scripts/test.sh</c> makes). Unlike the tests, the harness does not install
/// it: it says how to, and exits.
/// </summary>
internal static class HarnessAzurite
{
    public static async Task<AzuriteProcess> StartAsync(CancellationToken cancellationToken)
    {
        string? executable;
        IReadOnlyList<string> searched;
        try
        {
            executable = AzuriteProcess.FindInstalled(out searched);
        }
        catch (FileNotFoundException ex)
        {
            throw new HarnessSetupException(ex.Message, ex);
        }

        if (executable is null)
        {
            throw new HarnessSetupException(
                "--storage azure needs an Azure Storage account, and none was given: Azurite is not installed"
                + (searched.Count > 0 ? $" (looked for {string.Join(" and ", searched)})" : " (no OrleansMQ.sln above the working directory)") + ". "
                + $"Install it with `npm install --prefix .tools/azurite azurite@{AzuriteProcess.PinnedVersion} --no-audit --no-fund` in the repository root "
                + "(./scripts/test.sh does the same), set OMQ_AZURITE_BIN to an azurite executable, "
                + "or pass --azure-connection-string / set OMQ_AZURE_CONNECTION_STRING.");
        }

        try
        {
            return await AzuriteProcess.StartAsync(executable, "omq-bench-azurite", cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            throw new HarnessSetupException(ex.Message, ex);
        }
    }
}

/// <summary>Something the run needs is missing or would not start; the harness prints the message and exits with code 2.</summary>
internal sealed class HarnessSetupException(string message, Exception? inner = null) : Exception(message, inner);
