using System.Runtime.InteropServices;
using RlRig.IO;

namespace RlRig.Torch;

/// <summary>What <see cref="LibStdCxxCompat.Fix(string)"/> found or did for one native library file.</summary>
public enum NativeFixOutcome
{
    /// <summary>The system C++ runtime provides every version the file needs.</summary>
    AlreadyLoadable,
    /// <summary>An earlier run already made the missing versions weak.</summary>
    AlreadyPatched,
    /// <summary>This run made the missing versions weak (written to a temporary file, then renamed over the original).</summary>
    Patched,
}

/// <summary>The result of checking one file.</summary>
public sealed record NativeFixResult(string Path, NativeFixOutcome Outcome, IReadOnlyList<string> WeakenedVersions);

/// <summary>
/// TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> is built against GCC 13 and declares a need for <c>GLIBCXX_3.4.32</c>,
/// which Debian 12's libstdc++ lacks, so <c>dlopen</c> refuses it. Only <c>_ZSt21ios_base_library_initv</c> is bound to
/// that version and no relocation references it (GCC 13 emits it as a link-time marker), so marking the requirement
/// <c>VER_FLG_WEAK</c> lets the loader accept the file without changing any code path. This class does exactly that, and
/// refuses anything else: a missing version that real code needs is an error, not something to paper over.
/// </summary>
public static class LibStdCxxCompat
{
    const string LibStdCxx = "libstdc++.so.6";

    /// <summary>
    /// Makes <paramref name="path"/> loadable on this system if the only obstacle is a libstdc++ version that no relocation
    /// uses. A no-op (no write) when nothing is missing or the file is already fixed. The edit is written to a temporary
    /// file in the same folder and renamed over the original, so an interrupted run leaves either the old or the new file.
    /// </summary>
    /// <exception cref="TorchRuntimeException">The file is not the ELF library expected, or it needs a version the system lacks for a symbol code actually uses.</exception>
    public static NativeFixResult Fix(string path) => Fix(path, SystemHasVersionedSymbol);

    /// <summary>As <see cref="Fix(string)"/>, with the system's symbol table given as a function (for tests).</summary>
    public static NativeFixResult Fix(string path, Func<string, string, bool> systemHas)
    {
        byte[] bytes;
        IReadOnlyList<VersionNeed> needs;
        try
        {
            bytes = File.ReadAllBytes(path);
            needs = ElfVersionNeeds.Read(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new TorchRuntimeException($"{path}: cannot be read as TorchSharp's native library: {e.Message}", e);
        }

        var missing = needs.Where(n => n.File == LibStdCxx && !n.UsedBy.All(s => systemHas(s.Name, n.Version))).ToList();
        if (missing.Count == 0) return new(path, NativeFixOutcome.AlreadyLoadable, []);
        var toWeaken = missing.Where(n => !n.IsWeak).ToList();
        if (toWeaken.Count == 0) return new(path, NativeFixOutcome.AlreadyPatched, missing.Select(n => n.Version).ToList());

        foreach (var need in toWeaken)
        {
            var used = need.UsedBy.Where(s => !s.IsUndefined || s.IsRelocated).Select(s => s.Name).ToList();
            if (used.Count > 0)
                throw new TorchRuntimeException(
                    $"{path}: needs {need.Version} from {LibStdCxx}, which this system's C++ runtime lacks, and code uses it " +
                    $"({string.Join(", ", used)}). This is not the TorchSharp build RlRig knows how to fix: install a libstdc++ " +
                    "from GCC 13 or newer, or use the TorchSharp version named in build/TorchBackend.props.");
        }

        foreach (var need in toWeaken)
        {
            var flags = (ushort)(need.Flags | ElfVersionNeeds.WeakFlag);
            bytes[need.FlagsOffset] = (byte)flags;
            bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
        }
        try
        {
            AtomicFile.WriteAllBytes(path, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TorchRuntimeException($"{path}: could not write the fixed library ({e.Message}). Make the folder writable or run once as its owner.", e);
        }
        return new(path, NativeFixOutcome.Patched, toWeaken.Select(n => n.Version).ToList());
    }

    /// <summary>Whether the C++ runtime this process would load defines <paramref name="symbol"/> at <paramref name="version"/>.</summary>
    public static unsafe bool SystemHasVersionedSymbol(string symbol, string version)
    {
        if (!NativeLibrary.TryLoad(LibStdCxx, out var libstdcxx)) return false;
        // dlvsym moved from libdl into libc in glibc 2.34; look in both so older distributions work too.
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "dlvsym", out var dlvsym))
            if (!NativeLibrary.TryLoad("libdl.so.2", out var libdl) || !NativeLibrary.TryGetExport(libdl, "dlvsym", out dlvsym))
                return false;
        var symbolPtr = Marshal.StringToCoTaskMemUTF8(symbol);
        var versionPtr = Marshal.StringToCoTaskMemUTF8(version);
        try
        {
            return ((delegate* unmanaged<nint, nint, nint, nint>)dlvsym)(libstdcxx, symbolPtr, versionPtr) != 0;
        }
        finally
        {
            Marshal.FreeCoTaskMem(symbolPtr);
            Marshal.FreeCoTaskMem(versionPtr);
        }
    }
}
