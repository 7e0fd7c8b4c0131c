using System.Runtime.InteropServices;

namespace RlRig.IO;

/// <summary>What a path names, the path itself and not what a symbolic link points to.</summary>
public enum FileKind
{
    Missing,
    RegularFile,
    Directory,
    SymbolicLink,
    /// <summary>A device, FIFO or socket: something a rename would destroy and a write would not reach as a file.</summary>
    Special,
}

/// <summary>
/// The kind and identity of a path. .NET reports a device or a FIFO as a "Normal" file, so on Unix this asks the
/// system (<c>lstat</c>/<c>stat</c>) for the file type and the device and inode that tell whether two paths are one file.
/// </summary>
public static class FileKinds
{
    /// <summary>The kind of <paramref name="path"/> itself (a symbolic link is not followed).</summary>
    public static FileKind Of(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return FileKind.SymbolicLink;
        if (Directory.Exists(path)) return FileKind.Directory;
        if (!info.Exists) return FileKind.Missing;
        if (OperatingSystem.IsWindows()) return FileKind.RegularFile;
        if (Stat(path, follow: false) is { } stat) return (stat.Mode & 0xF000) == 0x8000 ? FileKind.RegularFile : FileKind.Special;
        // No stat on this platform: the kernel's pseudo file systems are where devices and FIFOs usually live.
        var full = Path.GetFullPath(path);
        return full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)
            || full.StartsWith("/sys/", StringComparison.Ordinal) ? FileKind.Special : FileKind.RegularFile;
    }

    /// <summary>True when both paths exist and are the same file (through links, hard links, another spelling of the path).</summary>
    public static bool SameFile(string a, string b)
    {
        if (string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            return File.Exists(a) || Directory.Exists(a);
        if (OperatingSystem.IsWindows()) return false;
        return Stat(a, follow: true) is { } x && Stat(b, follow: true) is { } y && x.Device == y.Device && x.Inode == y.Inode;
    }

    readonly record struct StatResult(ulong Device, ulong Inode, uint Mode);

    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    static extern int LStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    static extern int StatFollow([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    // struct stat's layout: Linux x64 (dev, ino, nlink, mode), Linux arm64 (dev, ino, mode), macOS (dev32, mode16, nlink16, ino).
    static StatResult? Stat(string path, bool follow)
    {
        (int ModeAt, int ModeBytes, int InodeAt, int DeviceBytes)? layout =
            OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 ? (24, 4, 8, 8)
            : OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? (16, 4, 8, 8)
            : OperatingSystem.IsMacOS() && RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? (4, 2, 8, 4)
            : null;
        if (layout is not { } l) return null;
        var buffer = new byte[512];
        try
        {
            if ((follow ? StatFollow(path, buffer) : LStat(path, buffer)) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        var mode = l.ModeBytes == 4 ? BitConverter.ToUInt32(buffer, l.ModeAt) : BitConverter.ToUInt16(buffer, l.ModeAt);
        var device = l.DeviceBytes == 8 ? BitConverter.ToUInt64(buffer, 0) : BitConverter.ToUInt32(buffer, 0);
        return new StatResult(device, BitConverter.ToUInt64(buffer, l.InodeAt), mode);
    }
}
