using RlRig.IO;

namespace RlRig.Cli.Commands;

/// <summary>Checks and messages for the files commands read and write, so that every command words them the same way.</summary>
static class CommandFiles
{
    /// <summary>
    /// Null when <paramref name="path"/> names a readable-looking file, else why not ("truth file x.json: no such file").
    /// Checked up front because the LAION-SG reader opens files lazily, deep inside an enumeration.
    /// </summary>
    public static string? ProblemWithInput(string path, string role)
    {
        if (string.IsNullOrWhiteSpace(path)) return $"{role}: the path is empty";
        if (Directory.Exists(path)) return $"{role} {path}: is a folder, not a file";
        if (!File.Exists(path)) return $"{role} {path}: no such file";
        return null;
    }

    /// <summary>The message for an I/O failure on <paramref name="path"/>: the OS's reason without a stack trace.</summary>
    public static string IoProblem(string role, string path, Exception e) => e switch
    {
        UnauthorizedAccessException => $"{role} {path}: permission denied",
        FileNotFoundException or DirectoryNotFoundException => $"{role} {path}: no such file",
        _ => $"{role} {path}: {e.Message}",
    };

    /// <summary>True for the exceptions that mean "the file system said no", as opposed to a bug.</summary>
    public static bool IsIo(Exception e) => e is IOException or UnauthorizedAccessException;
}

/// <summary>
/// A command line that asks for something the command will not do (an output over its own input, a device, a folder
/// that is a file): reported as one line and exit code 2, before any work is done.
/// </summary>
public sealed class CommandLineException(string message) : Exception(message);

/// <summary>One input of a command, named as its option names it, for <see cref="OutputPolicy"/>'s messages.</summary>
/// <param name="Path">The file as given; null or empty when the option was not given (then it is ignored).</param>
/// <param name="Role">How messages name it: its option ("--truth"), or what it is ("the manifest of --checkpoint").</param>
sealed record CommandInput(string? Path, string Role);

/// <summary>
/// The one output policy of every command (README, "Output policy"), checked before any work is done: an output is
/// written atomically (<see cref="AtomicFile"/>), only ever replaces a regular file or creates a missing one (never a
/// folder, a device, a FIFO, a symbolic link or what it points to), and is never one of the command's own inputs.
/// </summary>
static class OutputPolicy
{
    /// <summary>
    /// Checks a file the command will write and returns its full path.
    /// </summary>
    /// <param name="path">The path as given (the option's value).</param>
    /// <param name="option">The option that named it, e.g. "--out", for the message.</param>
    /// <param name="inputs">Every file the command reads; an output that is one of them (by any path, link or hard link) is refused.</param>
    /// <exception cref="CommandLineException">The path is empty or invalid, not replaceable, or one of the inputs.</exception>
    public static string RequireFile(string? path, string option, params IEnumerable<CommandInput> inputs)
    {
        var full = FullPath(path, option);
        if (AtomicFile.ProblemWithTarget(full) is { } problem) throw new CommandLineException($"{option} {path}: {problem}");
        var parent = Path.GetDirectoryName(full);
        if (parent is not null && FirstNonFolder(parent) is { } blocker)
            throw new CommandLineException($"{option} {path}: {blocker} is not a folder, so nothing can be written below it");
        if (parent is not null) RequireWritable(parent, option, path!);
        foreach (var input in inputs)
        {
            if (string.IsNullOrEmpty(input.Path)) continue;
            if (FileKinds.SameFile(full, input.Path))
                throw new CommandLineException($"{option} {path}: is the same file as {input.Role} ({input.Path}), an input of this command; a command never writes over its own input");
        }
        return full;
    }

    /// <summary>
    /// Checks a folder the command will write files into (it may exist, or will be created) and each file it will
    /// write there, by name; returns the folder's full path.
    /// </summary>
    /// <param name="files">The names, relative to the folder, of the files the command writes (e.g. "diffuser.ckpt").</param>
    /// <param name="folders">The names of folders the command creates inside it (e.g. "tensorboard").</param>
    /// <exception cref="CommandLineException">The folder is a file, a device or beneath one; or one of the files fails <see cref="RequireFile"/>.</exception>
    public static string RequireFolder(string? path, string option, IEnumerable<string> files, IEnumerable<string> folders, params IEnumerable<CommandInput> inputs)
    {
        var full = FullPath(path, option);
        if (FirstNonFolder(full) is { } blocker)
            throw new CommandLineException(blocker == full
                ? $"{option} {path}: is a file, not a folder"
                : $"{option} {path}: {blocker} is not a folder, so no folder can be made below it");
        RequireWritable(full, option, path!);
        foreach (var file in files) RequireFile(Path.Combine(full, file), option, inputs);
        foreach (var folder in folders)
        {
            var inside = Path.Combine(full, folder);
            if (FileKinds.Of(inside) is not (FileKind.Missing or FileKind.Directory))
                throw new CommandLineException($"{option} {path}: {inside} is not a folder, and the command writes a folder there");
        }
        return full;
    }

    static string FullPath(string? path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new CommandLineException($"{option}: the path is empty");
        try { return Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new CommandLineException($"{option} {TerminalText.Escape(path)}: not a valid path ({e.Message})");
        }
    }

    // Permissions, read-only mounts and pseudo file systems (/proc) are only known by trying: a hidden file is created and
    // deleted in the nearest existing folder, where the command's own writes would go (or make their folders).
    static void RequireWritable(string folder, string option, string path)
    {
        var existing = folder;
        while (!Directory.Exists(existing)) existing = Path.GetDirectoryName(existing) ?? throw new CommandLineException($"{option} {path}: no existing folder above it");
        var probe = AtomicFile.TemporaryPath(Path.Combine(existing, "write-check"));
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (CommandFiles.IsIo(e))
        {
            var reason = e is UnauthorizedAccessException ? "permission denied" : "the file system refused";
            throw new CommandLineException($"{option} {path}: cannot create files in {existing} ({reason})");
        }
    }

    // The nearest existing path at or above full that is not a folder (a folder through a link counts as one): where
    // creating folders would fail. Null when the nearest existing one is a folder.
    static string? FirstNonFolder(string full)
    {
        for (var dir = full; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir)) return null;
            if (File.Exists(dir) || FileKinds.Of(dir) != FileKind.Missing) return dir;
        }
        return null;
    }
}

/// <summary>
/// The errors a command reports as one line: bad arguments, files the OS refuses, damaged checkpoints or data files, a
/// TorchSharp that cannot load, a model server that keeps failing (exit 2, <see cref="ExitCodes.UsageOrIo"/>), and invalid LAION-SG records (exit 1,
/// <see cref="ExitCodes.InvalidData"/>, as eval-sg and laion-sg validate report them). Anything else is a bug: the
/// top-level handler (Program.cs) names it in one line, with the trace under --verbose.
/// </summary>
public static class CommandErrors
{
    /// <summary>True for the errors a user can fix (bad arguments, files, data); false for a bug.</summary>
    public static bool IsUserFacing(Exception e) => CommandFiles.IsIo(e) || e is ArgumentException or CommandLineException
        or RlRig.IO.CheckpointException or RlRig.Loop.LoopTraceFormatException or RlRig.Torch.TorchRuntimeException or RlRig.LaionSg.LaionSgFormatException
        or Notebooks.NotebookFormatException or RlRig.Remote.RemoteBackendException;

    /// <summary>The exit code of a user-facing error: its class in the README's table.</summary>
    public static int ExitCode(Exception e) => e is RlRig.LaionSg.LaionSgFormatException ? ExitCodes.InvalidData : ExitCodes.UsageOrIo;

    /// <summary>Prints "<paramref name="command"/>: message" (escaped, <see cref="TerminalText"/>) to standard error and returns the exit code.</summary>
    public static int Report(string command, Exception e, TextWriter? error = null)
    {
        (error ?? Console.Error).WriteLine($"{command}: {TerminalText.EscapeKeepingLines(Message(e))}");
        return ExitCode(e);
    }

    // .NET appends "(Parameter 'count')" and "Actual value was 7." on lines of their own; users need the sentence and the value.
    static string Message(Exception e)
    {
        if (e is not ArgumentException argument || argument.ParamName is null) return e.Message;
        var text = e.Message.Split(" (Parameter '")[0];
        // "must be >= 0" alone does not say what must be: name the parameter unless the sentence already does.
        if (!text.Contains(argument.ParamName, StringComparison.OrdinalIgnoreCase)) text = $"{argument.ParamName}: {text}";
        return e is ArgumentOutOfRangeException { ActualValue: { } value } ? $"{text} (got {value})" : text;
    }
}
