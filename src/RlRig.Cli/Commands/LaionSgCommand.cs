using System.CommandLine;
using RlRig.IO;
using RlRig.LaionSg;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig laion-sg validate FILE</c>: checks every record of a LAION-SG file and lists each invalid one.</summary>
public static class LaionSgCommand
{
    const string Name = "rlrig laion-sg validate";

    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The LAION-SG file (a JSON array of records)." };
        var validate = new Command("validate",
            "Check every record (JSON types, ids, references) and print one line per invalid record naming its index, img_id and field; exit 1 if any.")
        {
            file,
        };
        validate.SetAction(result => Validate(result.GetValue(file)!));
        return new Command("laion-sg", "Work with LAION-SG scene-graph files.") { validate };
    }

    static int Validate(string path)
    {
        if (CommandFiles.ProblemWithInput(path, "file") is { } problem)
        {
            Console.Error.WriteLine($"{Name}: {problem}");
            return ExitCodes.UsageOrIo;
        }
        LaionSgValidationReport report;
        try
        {
            report = LaionSgReader.Validate(path);
        }
        catch (Exception e) when (CommandFiles.IsIo(e))
        {
            Console.Error.WriteLine($"{Name}: {CommandFiles.IoProblem("cannot read", path, e)}");
            return ExitCodes.UsageOrIo;
        }

        // The error lines are the command's output (for grep or a file), so they go to stdout; each already names the
        // file, the record index, the img_id and the field, escaped (LaionSgError.ToString), as is the summary's file name.
        foreach (LaionSgError error in report.Errors) Console.WriteLine(error);
        Console.WriteLine(Summary(report));
        return report.IsValid ? ExitCodes.Ok : ExitCodes.InvalidData;
    }

    /// <summary>The closing line: counts, and whether the reader had to stop before the end of the file.</summary>
    public static string Summary(LaionSgValidationReport report)
    {
        string counts = $"{TerminalText.Escape(report.Source)}: {report.RecordsRead} record{(report.RecordsRead == 1 ? "" : "s")} read, {report.Valid} valid, {report.Invalid} invalid";
        if (!report.Complete) return counts + "; reading stopped at the last error above (truncated or malformed JSON, or an oversized record): nothing after it was checked";
        return report.IsValid ? counts + ": the file is valid" : counts;
    }
}
