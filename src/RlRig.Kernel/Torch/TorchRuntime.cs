using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace RlRig.Torch;

/// <summary>TorchSharp's native backend could not be made to load; the message says which file and why.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What <see cref="TorchRuntime.EnsureLoaded"/> checked and did.</summary>
/// <param name="Fixes">One entry per copy of <c>libLibTorchSharp.so</c> found where TorchSharp may load it from.</param>
/// <param name="TorchVersion">The libtorch version reported once loaded.</param>
public sealed record TorchRuntimeReport(IReadOnlyList<NativeFixResult> Fixes, string TorchVersion);

/// <summary>
/// The one entry point through which RlRig loads TorchSharp. Every host (the <c>rlrig</c> command, the tests, the notebook
/// extension) calls <see cref="EnsureLoaded"/> before touching <c>torch</c>, so the Debian 12 fix (see
/// <see cref="LibStdCxxCompat"/>) is applied wherever TorchSharp will look for its native library: the application folder,
/// the folder of <c>TorchSharp.dll</c>, the <c>cpu/</c> folder TorchSharp consolidates for notebook hosts, and the NuGet
/// package it copies from. Elsewhere (Windows, macOS, a libstdc++ with GLIBCXX_3.4.32) it changes nothing.
/// </summary>
public static class TorchRuntime
{
    const string NativeName = "libLibTorchSharp.so";

    // Loading native code is process-wide by nature; this records that it happened, once.
    static readonly Lazy<TorchRuntimeReport> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Applies the platform fix if needed and loads TorchSharp's CPU backend. Safe to call many times.</summary>
    /// <exception cref="TorchRuntimeException">The native library is missing, unexpected, or fails to load; the message names it.</exception>
    public static TorchRuntimeReport EnsureLoaded() => Loaded.Value;

    /// <summary>Every place TorchSharp may load <c>libLibTorchSharp.so</c> from, whether or not a file is there.</summary>
    public static IReadOnlyList<string> CandidatePaths()
    {
        var torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        var rid = RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";
        var paths = new List<string>();
        foreach (var dir in new[] { AppContext.BaseDirectory, torchSharpDir }.Distinct())
        {
            paths.Add(Path.Combine(dir, NativeName));
            paths.Add(Path.Combine(dir, "runtimes", rid, "native", NativeName));
        }
        paths.Add(Path.Combine(torchSharpDir, "cpu", NativeName));
        // TorchSharp.dll inside a NuGet package (.../torchsharp/<version>/lib/<tfm>/): the package's own native copy,
        // which TorchSharp copies into cpu/ for notebook hosts and MSBuild copies into every build output.
        var packageHome = Path.GetFullPath(Path.Combine(torchSharpDir, "..", ".."));
        paths.Add(Path.Combine(packageHome, "runtimes", rid, "native", NativeName));
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        paths.Add(Path.Combine(packages, "torchsharp", TorchSharpPackageVersion(), "runtimes", rid, "native", NativeName));
        return paths.Select(Path.GetFullPath).Distinct().ToList();
    }

    static string TorchSharpPackageVersion()
    {
        var informational = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        return informational.Split('+')[0];
    }

    static TorchRuntimeReport Load()
    {
        var fixes = new List<NativeFixResult>();
        if (OperatingSystem.IsLinux())
        {
            var present = CandidatePaths().Where(File.Exists).ToList();
            if (present.Count == 0)
                throw new TorchRuntimeException(
                    $"TorchSharp's native library {NativeName} was not found. Looked in:\n  {string.Join("\n  ", CandidatePaths())}\n" +
                    "Restore the project (dotnet restore) so the TorchSharp and libtorch-cpu-linux-x64 packages are present.");
            fixes.AddRange(present.Select(LibStdCxxCompat.Fix));
        }

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return new TorchRuntimeReport(fixes, torch.__version__);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
        {
            throw new TorchRuntimeException($"TorchSharp's native backend failed to load: {Diagnose() ?? e.Message}", e);
        }
    }

    // TorchSharp reports every load failure as a missing package; dlopen's own message names the real cause.
    static string? Diagnose()
    {
        foreach (var path in CandidatePaths().Where(File.Exists))
        {
            try { NativeLibrary.Free(NativeLibrary.Load(path)); }
            catch (DllNotFoundException e) { return $"{path}: {e.Message}"; }
        }
        return null;
    }
}
