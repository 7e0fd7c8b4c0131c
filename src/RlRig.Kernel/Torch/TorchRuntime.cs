using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace RlRig.Torch;

/// <summary>TorchSharp's native backend could not be made to load; the message says which file and why.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What <see cref="TorchRuntime.EnsureLoaded"/> checked and did.</summary>
/// <param name="Fixes">One entry per copy of <c>libLibTorchSharp.so</c> found where TorchSharp may load it from.</param>
/// <param name="TorchVersion">The libtorch version reported once loaded.</param>
/// <param name="LibTorchDirectory">The folder whose libtorch RlRig bound by absolute path before TorchSharp loaded
/// (<see cref="TorchRuntime.PreloadLibTorch"/>); null where none was needed or found (not Linux, no package copy).</param>
public sealed record TorchRuntimeReport(IReadOnlyList<NativeFixResult> Fixes, string TorchVersion, string? LibTorchDirectory = null);

/// <summary>
/// The one entry point through which RlRig loads TorchSharp. Every host (the <c>rlrig</c> command, the tests, the notebook
/// extension) calls <see cref="EnsureLoaded"/> before touching <c>torch</c>, so the Debian 12 fix (see
/// <see cref="LibStdCxxCompat"/>) is applied wherever TorchSharp will look for its native library: the application folder,
/// the folder of <c>TorchSharp.dll</c>, the <c>cpu/</c> folder TorchSharp consolidates for notebook hosts, and the NuGet
/// package it copies from. Elsewhere (Windows, macOS, a libstdc++ with GLIBCXX_3.4.32) it changes nothing. On Linux it
/// also binds the package's own libtorch before TorchSharp looks for one (<see cref="PreloadLibTorch"/>), so a system
/// libtorch on the library path is never picked up.
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
        var libTorchDirectory = OperatingSystem.IsLinux() ? PreloadLibTorch() : null;

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return new TorchRuntimeReport(fixes, torch.__version__, libTorchDirectory);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
        {
            throw new TorchRuntimeException($"TorchSharp's native backend failed to load: {Diagnose() ?? e.Message}", e);
        }
    }

    // Dependencies before the libraries that need them, so each resolves to one already loaded, never to a search.
    static readonly string[] LibTorchLibraries = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];

    /// <summary>
    /// Folders that may hold the libtorch this TorchSharp was built for, best first: beside each copy of
    /// <c>libLibTorchSharp.so</c> TorchSharp may load (build outputs carry both), then the libtorch-cpu package in the
    /// NuGet cache (newest version first).
    /// </summary>
    public static IReadOnlyList<string> LibTorchCandidateDirectories()
    {
        var rid = RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";
        var dirs = CandidatePaths().Select(p => Path.GetDirectoryName(p)!).ToList();
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var package = Path.Combine(packages, $"libtorch-cpu-{rid}");
        if (Directory.Exists(package))
            dirs.AddRange(Directory.GetDirectories(package).OrderByDescending(d => Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version())
                .Select(d => Path.Combine(d, "runtimes", rid, "native")));
        return dirs.Distinct().ToList();
    }

    /// <summary>
    /// Loads libtorch's libraries (<c>libc10.so</c>, <c>libtorch_cpu.so</c>, <c>libtorch.so</c>) by absolute path from
    /// the first folder of <see cref="LibTorchCandidateDirectories"/> that has them, and returns that folder. TorchSharp then asks for <c>libtorch_cpu.so</c> by bare name, and
    /// <c>libLibTorchSharp.so</c> names it as a dependency; the dynamic loader answers both with the library already loaded
    /// under that soname instead of searching <c>LD_LIBRARY_PATH</c> and the system folders, where a machine with
    /// Debian's python3-torch has libtorch 1.13 (whose symbols TorchSharp cannot bind). A no-op once done and off Linux.
    /// </summary>
    /// <exception cref="TorchRuntimeException">A library in the chosen folder exists but does not load.</exception>
    public static string? PreloadLibTorch()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var dir = LibTorchCandidateDirectories().FirstOrDefault(d => LibTorchLibraries.All(l => File.Exists(Path.Combine(d, l))));
        if (dir is null) return null;
        // The OpenMP runtime libtorch ships is needed under a hashed file name (libgomp-<hash>.so.1) that no system
        // package uses, and its soname (libgomp.so.1) would not answer that name anyway: libtorch_cpu.so's RUNPATH finds it.
        foreach (var path in LibTorchLibraries.Select(l => Path.Combine(dir, l)))
        {
            try { NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { throw new TorchRuntimeException($"libtorch could not be loaded from {path}: {e.Message}", e); }
        }
        return dir;
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
