using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RlRig.IO;

/// <summary>
/// Writes files so that a reader, a crash or a Ctrl+C never sees half of one: the content goes to a temporary file in the
/// same folder (same file system, so the rename is atomic), is flushed to disk, and is then renamed over the target.
/// An existing target keeps its Unix permissions. Only a regular file is ever replaced: a rename over a device, a FIFO
/// or a symbolic link would destroy it (or write where the link does not point), so those are refused.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes what <paramref name="write"/> puts in the stream to <paramref name="path"/>, atomically.</summary>
    /// <exception cref="IOException">The target is a folder, a link, a device or a FIFO (<see cref="ProblemWithTarget"/>), or the OS refused.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        RequireReplaceable(path, full);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = TemporaryPath(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            // Again: minutes may have passed since the first check, and a rename cannot be taken back.
            RequireReplaceable(path, full);
            if (!OperatingSystem.IsWindows() && File.Exists(full))
                File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, s =>
    {
        using var writer = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
        writer.Write(text);
    });

    /// <summary>
    /// Null when <paramref name="path"/> may be written (it is missing or a regular file), else why not, as a phrase
    /// ("is a symbolic link; ..."). Commands check their outputs with it before doing any work.
    /// </summary>
    public static string? ProblemWithTarget(string path) => FileKinds.Of(path) switch
    {
        FileKind.Missing or FileKind.RegularFile => null,
        FileKind.Directory => "is a folder, not a file",
        FileKind.SymbolicLink => "is a symbolic link; only a regular file is ever replaced, never a link or what it points to",
        _ => "is a device, FIFO or socket, not a regular file; only a regular file is ever replaced",
    };

    static void RequireReplaceable(string path, string full)
    {
        if (ProblemWithTarget(full) is { } problem) throw new IOException($"{path}: {problem}");
    }

    /// <summary>
    /// A hidden name beside <paramref name="fullPath"/> for work in progress (this class's temporary files, a folder
    /// built before it is renamed into place): <c>.NAME.PID.GUID.tmp</c>, so that <see cref="RemoveStaleTemporaries"/>
    /// can tell one left by a process that was killed from one still being written.
    /// </summary>
    public static string TemporaryPath(string fullPath) => Path.Combine(Path.GetDirectoryName(fullPath)!,
        $".{Path.GetFileName(Path.TrimEndingDirectorySeparator(fullPath))}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// Deletes the temporary files and folders (<see cref="TemporaryPath"/>) in <paramref name="folder"/> whose process
    /// is no longer running: what a killed write left behind. Returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemporaries(string folder)
    {
        if (!Directory.Exists(folder)) return 0;
        var removed = 0;
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, ".*.tmp"))
        {
            var match = TemporaryName().Match(Path.GetFileName(entry));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out var pid) || IsRunning(pid)) continue;
            try
            {
                if (FileKinds.Of(entry) == FileKind.Directory) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return removed;
    }

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^\..+\.(\d+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();
}
