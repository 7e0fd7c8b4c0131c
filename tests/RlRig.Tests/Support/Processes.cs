using System.Diagnostics;

namespace RlRig.Tests.Support;

/// <summary>The result of running a command to completion.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Runs the <c>rlrig</c> command (built into this test's output by the project reference) as a separate process.</summary>
public static class Processes
{
    static readonly string RlrigDll = System.IO.Path.Combine(AppContext.BaseDirectory, "rlrig.dll");

    public static ProcessResult Rlrig(string workingDirectory, TimeSpan timeout, params string[] args) =>
        Exec("dotnet", [RlrigDll, .. args], workingDirectory, timeout);

    public static ProcessResult Rlrig(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Exec("dotnet", [RlrigDll, .. args], workingDirectory, timeout, environment);

    public static ProcessResult Exec(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
