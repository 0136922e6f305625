using OrleansMQ.Testing.Processes;

namespace OrleansMQ.SiloHost.Tests.Processes;

/// <summary>Runs the client sample (<c>dotnet omq-sample.dll &lt;command&gt; …</c>) against a silo host's gateway.</summary>
internal static class SampleClient
{
    /// <summary>How long one client-sample run may take before it is killed.</summary>
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Starts a command and returns at once (the caller disposes the process).</summary>
    public static ChildProcess Start(string command, int gatewayPort, params string[] arguments) =>
        ChildProcess.Start($"omq-sample {command}", BuildOutputs.ClientSampleDll, [command, "--gateway", gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);

    /// <summary>Runs a command to completion (at most <see cref="RunTimeout"/>; then it is killed and this throws).</summary>
    public static async Task<ChildProcess> RunAsync(string command, int gatewayPort, params string[] arguments)
    {
        var process = Start(command, gatewayPort, arguments);
        try
        {
            await process.WaitForExitAsync(RunTimeout);
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>publish --topic T --count N --partitions K</c> to completion.</summary>
    public static Task<ChildProcess> PublishAsync(int gatewayPort, string topic, int count, int partitions) =>
        RunAsync("publish", gatewayPort, "--topic", topic, "--count", Invariant(count), "--partitions", Invariant(partitions));

    /// <summary><c>publish</c> started in the background.</summary>
    public static ChildProcess StartPublish(int gatewayPort, string topic, int count, int partitions) =>
        Start("publish", gatewayPort, "--topic", topic, "--count", Invariant(count), "--partitions", Invariant(partitions));

    /// <summary>Writes <paramref name="acks"/> to <paramref name="ackedFile"/> and runs <c>verify --topic T --acked-file F</c>.</summary>
    public static async Task<ChildProcess> VerifyAsync(int gatewayPort, string topic, IEnumerable<Ack> acks, string ackedFile)
    {
        await File.WriteAllLinesAsync(ackedFile, acks.Select(a => a.ToString()));
        return await RunAsync("verify", gatewayPort, "--topic", topic, "--acked-file", ackedFile);
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
