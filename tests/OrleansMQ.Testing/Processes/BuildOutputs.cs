namespace OrleansMQ.Testing.Processes;

/// <summary>
/// Where the programs under test were built: the same Configuration and target framework as the running test assembly,
/// which sits in <c>tests/&lt;TestProject&gt;/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/</c>. Each test project
/// references the programs it runs (ReferenceOutputAssembly=false), which makes sure they are built before its tests.
/// </summary>
public static class BuildOutputs
{
    private static readonly Lazy<(string Root, string Configuration, string TargetFramework)> Layout = new(Detect);

    /// <summary>The repository root (the folder with OrleansMQ.sln).</summary>
    public static string RepoRoot => Layout.Value.Root;

    /// <summary><c>silo-host/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/omq-silo.dll</c>.</summary>
    public static string SiloHostDll => Find("silo-host", "omq-silo.dll");

    /// <summary><c>client-sample/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/omq-sample.dll</c>.</summary>
    public static string ClientSampleDll => Find("client-sample", "omq-sample.dll");

    /// <summary><c>client-sample/OrderProcessing/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/omq-orders.dll</c>: the order-processing sample.</summary>
    public static string OrderSampleDll => Find(Path.Combine("client-sample", "OrderProcessing"), "omq-orders.dll");

    /// <summary><c>src/OrleansMQ.Cli/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/omq.dll</c>: the <c>omq</c> CLI.</summary>
    public static string CliDll => Find(Path.Combine("src", "OrleansMQ.Cli"), "omq.dll");

    /// <summary>The <c>dotnet</c> host that runs these tests, so the children use the same SDK/runtime install.</summary>
    public static string DotnetHost { get; } = FindDotnetHost();

    /// <summary>
    /// <c>&lt;projectDirectory&gt;/bin/&lt;Configuration&gt;/&lt;TargetFramework&gt;/&lt;dll&gt;</c>, with
    /// <paramref name="projectDirectory"/> relative to the repository root. Throws when it has not been built.
    /// </summary>
    public static string Find(string projectDirectory, string dll)
    {
        var (root, configuration, targetFramework) = Layout.Value;
        var path = Path.Combine(root, projectDirectory, "bin", configuration, targetFramework, dll);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{path} does not exist. Build the solution with -c {configuration} first (scripts/test.sh does).", path);
    }

    private static (string, string, string) Detect()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var targetFramework = here.Name;
        var configuration = here.Parent?.Name;
        if (configuration is null || here.Parent?.Parent?.Name != "bin")
        {
            throw new InvalidOperationException($"The test assembly is in {here.FullName}, not in bin/<Configuration>/<TargetFramework>/; cannot tell which builds of the programs under test to run.");
        }

        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansMQ.sln")))
            {
                return (dir.FullName, configuration, targetFramework);
            }
        }

        throw new InvalidOperationException($"No OrleansMQ.sln above {here.FullName}.");
    }

    private static string FindDotnetHost()
    {
        // Set by the dotnet CLI (dotnet test) for its child processes.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }
}
