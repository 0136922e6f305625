namespace OrleansMQ.Tests.Storage;

/// <summary>A unique directory under the temp path, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "orleansmq-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>
    /// Copies every file under <paramref name="source"/> to the same place under <paramref name="target"/>: what a crash
    /// would leave on disk, for a process that is still running (nothing flushed is lost, nor anything unflushed; tests
    /// then take away what the crash would have). Uses <c>cp</c>: the live journals hold exclusive locks (flock) that
    /// .NET's own file APIs honour.
    /// </summary>
    public static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        using var cp = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("cp", ["-r", System.IO.Path.Combine(source, "."), target]) { RedirectStandardError = true })!;
        var error = cp.StandardError.ReadToEnd();
        cp.WaitForExit();
        if (cp.ExitCode != 0)
        {
            throw new IOException($"cp -r {source} {target} failed ({cp.ExitCode}): {error}");
        }
    }
}
