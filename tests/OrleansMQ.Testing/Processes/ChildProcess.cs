using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OrleansMQ.Testing.Processes;

/// <summary>
/// A program the test started as <c>dotnet &lt;dll&gt; &lt;args&gt;</c>, with stdout and stderr captured line by line for
/// assertions and failure messages. It is only ever stopped through its own PID (<see cref="KillAsync"/>); the tests
/// never kill a process they did not start. Disposing kills it if it is still running.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 150;
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly List<string> _combined = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private long _exitedAt;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>A label for messages, e.g. "silo #2" or "publish topic-b".</summary>
    public string Name { get; }

    public int Id { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; only valid after the process exited (a SIGKILLed process reports 137).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>How long the process ran (so far, if it is still running).</summary>
    public TimeSpan Elapsed
    {
        get
        {
            var exitedAt = Interlocked.Read(ref _exitedAt);
            return Stopwatch.GetElapsedTime(_startedAt, exitedAt != 0 ? exitedAt : Stopwatch.GetTimestamp());
        }
    }

    /// <summary>
    /// Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c> in the dll's folder (so its appsettings.json
    /// applies). Its standard input gets <paramref name="standardInput"/> (UTF-8) and is then closed; empty when null.
    /// <paramref name="environment"/> adds environment variables.
    /// </summary>
    public static ChildProcess Start(string name, string dll, IEnumerable<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null) =>
        StartProgram(name, BuildOutputs.DotnetHost, [dll, .. arguments], System.IO.Path.GetDirectoryName(dll)!, environment, standardInput);

    /// <summary>
    /// Starts any program (e.g. <c>node script.cjs</c>) with extra environment variables; its standard input gets
    /// <paramref name="standardInput"/> (UTF-8) and is then closed.
    /// </summary>
    public static ChildProcess StartProgram(string name, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        // Only the command line configures the child: settings from the environment (Orleans__…, OrleansMQ__…, Gateway__…)
        // would silently change what is being tested.
        foreach (var key in info.Environment.Keys.Where(k => (k.StartsWith("Orleans", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Gateway", StringComparison.OrdinalIgnoreCase))
            && k.Contains("__", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, fromStderr: false);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, fromStderr: true);
        process.Exited += (_, _) => Interlocked.CompareExchange(ref child._exitedAt, Stopwatch.GetTimestamp(), 0);
        process.Start();
        child.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (standardInput is not null)
            {
                process.StandardInput.Write(standardInput);
            }
        }
        catch (IOException)
        {
            // The child exited without reading all of it; its exit code and output tell why.
        }
        finally
        {
            process.StandardInput.Close();
        }

        return child;
    }

    /// <summary>A snapshot of the stdout lines received so far.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stdout];
            }
        }
    }

    /// <summary>A snapshot of the stderr lines received so far.</summary>
    public IReadOnlyList<string> StderrLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Both streams as received so far (stderr lines prefixed with "err: ").</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _combined);
            }
        }
    }

    public int CountStdoutLines(Func<string, bool> predicate)
    {
        lock (_lock)
        {
            return _stdout.Count(predicate);
        }
    }

    /// <summary>
    /// Waits until the process exits and its output is fully read. After <paramref name="timeout"/> the process is
    /// killed and a <see cref="TimeoutException"/> carrying its output is thrown.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0} s, so it was killed.\n{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL (on Linux) to this process and its descendants, then waits until it is gone and its output is read.</summary>
    public async Task KillAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        using var deadline = new CancellationTokenSource(KillWait);
        await _process.WaitForExitAsync(deadline.Token);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> ("STOP", "CONT", "TERM", …) to this process only, by its PID, with kill(1). Fault
    /// tests pause a silo (STOP/CONT) or ask it to shut down (TERM).
    /// </summary>
    public async Task SignalAsync(string signal)
    {
        var info = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        info.ArgumentList.Add($"-{signal}");
        info.ArgumentList.Add(Id.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(info) ?? throw new InvalidOperationException("Could not start kill(1).");
        var error = await kill.StandardError.ReadToEndAsync();
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0 && !HasExited)
        {
            throw new InvalidOperationException($"kill -{signal} {Id} failed (exit {kill.ExitCode}): {error}");
        }
    }

    /// <summary>The name, PID, state and the tail of the output, for assertion messages.</summary>
    public string Describe()
    {
        string[] lines;
        lock (_lock)
        {
            lines = [.. _combined];
        }

        var state = _process.HasExited ? $"exited with code {_process.ExitCode} after {Elapsed.TotalSeconds:0.0} s" : $"running for {Elapsed.TotalSeconds:0.0} s";
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"----- {Name} (pid {Id}, {state}): ");
        if (lines.Length > TailLines)
        {
            text.Append(CultureInfo.InvariantCulture, $"last {TailLines} of {lines.Length} output lines -----\n");
            lines = lines[^TailLines..];
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"{lines.Length} output lines -----\n");
        }

        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }

        return text.Append(CultureInfo.InvariantCulture, $"----- end of {Name} -----").ToString();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await KillAsync();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line, bool fromStderr)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            if (fromStderr)
            {
                _stderr.Add(line);
                _combined.Add("err: " + line);
            }
            else
            {
                _stdout.Add(line);
                _combined.Add(line);
            }
        }
    }
}
