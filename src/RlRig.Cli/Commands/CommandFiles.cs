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
/// The errors a command reports as one line and exit code 2 (<see cref="ExitCodes.UsageOrIo"/>): bad arguments, files the
/// OS refuses, damaged checkpoints or data files, a TorchSharp that cannot load. Anything else is a bug and keeps its trace.
/// </summary>
static class CommandErrors
{
    public static bool IsUserFacing(Exception e) => CommandFiles.IsIo(e) || e is ArgumentException
        or RlRig.IO.CheckpointException or RlRig.Torch.TorchRuntimeException or RlRig.LaionSg.LaionSgFormatException;

    /// <summary>Prints "<paramref name="command"/>: message" to standard error and returns the exit code.</summary>
    public static int Report(string command, Exception e)
    {
        Console.Error.WriteLine($"{command}: {Message(e)}");
        return ExitCodes.UsageOrIo;
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
