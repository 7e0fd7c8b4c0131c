using System.CommandLine;
using System.CommandLine.Parsing;
using RlRig.IO;

namespace RlRig.Cli.Commands;

/// <summary>
/// The last line of defence (Program.cs): whatever a command throws becomes one line naming the command and the cause,
/// never a raw .NET trace, with the exit code of its class (<see cref="ExitCodes"/>). The trace is there for whoever
/// asks: <c>--verbose</c> on any command, or the environment variable <see cref="VerboseVariable"/>=1.
/// </summary>
public static class TopLevelErrors
{
    public const string VerboseVariable = "RLRIG_VERBOSE";

    /// <summary>The global option; add it to the root command (it applies to every subcommand).</summary>
    public static Option<bool> VerboseOption { get; } = new("--verbose")
    {
        Description = $"On an unexpected error, also print its stack trace (or set {VerboseVariable}=1).",
        Recursive = true,
    };

    /// <summary>Reports <paramref name="e"/>, thrown by the command <paramref name="parsed"/> invoked, to <paramref name="error"/> (standard error by default) and returns the exit code.</summary>
    public static int Report(ParseResult parsed, Exception e, TextWriter? error = null)
    {
        error ??= Console.Error;
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        var name = CommandName(parsed);
        if (e is OperationCanceledException)
        {
            error.WriteLine($"{name}: interrupted");
            return ExitCodes.Interrupted;
        }
        if (CommandErrors.IsUserFacing(e)) return CommandErrors.Report(name, e, error);
        error.WriteLine($"{name}: unexpected error, a bug in RlRig: {e.GetType().Name}: {TerminalText.EscapeKeepingLines(e.Message)}");
        if (Verbose(parsed)) error.WriteLine(e);
        else error.WriteLine($"{name}: run it again with --verbose (or {VerboseVariable}=1) to see where it happened");
        return ExitCodes.Unexpected;
    }

    static bool Verbose(ParseResult parsed)
    {
        var variable = Environment.GetEnvironmentVariable(VerboseVariable);
        if (variable is "1" || string.Equals(variable, "true", StringComparison.OrdinalIgnoreCase)) return true;
        try { return parsed.GetValue(VerboseOption); }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>"rlrig eval diffuser": the words that invoked the command, as messages name it.</summary>
    public static string CommandName(ParseResult parsed)
    {
        var names = new List<string>();
        for (SymbolResult? r = parsed.CommandResult; r is CommandResult c; r = c.Parent) names.Add(c.Command.Name);
        names[^1] = "rlrig";
        names.Reverse();
        return string.Join(' ', names);
    }
}
