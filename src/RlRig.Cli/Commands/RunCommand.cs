using System.CommandLine;
using RlRig.Cli.Notebooks;
using RlRig.IO;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig run NOTEBOOK [--out DIR] [--param k=v]... [--cell-timeout S] [--full-output]</c>: executes a notebook headless.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var notebook = new Argument<FileInfo>("notebook") { Description = "The notebook to run (.ipynb or .dib)." };
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "Folder for the executed notebook and its HTML page.",
            DefaultValueFactory = _ => new DirectoryInfo("out"),
        };
        var parameters = new Option<string[]>("--param")
        {
            Description = "key=value overriding an assignment in the cell tagged 'parameters' (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var timeout = new Option<double>("--cell-timeout")
        {
            Description = $"Seconds a single cell may run before the run stops as hung (at most {MaxCellTimeoutSeconds:N0}).",
            DefaultValueFactory = _ => 600,
        }.Finite(0, MaxCellTimeoutSeconds, minExclusive: true);
        var fullOutput = new Option<bool>("--full-output")
        {
            Description = $"Keep every character a cell prints (by default one output keeps its first and last {NotebookRunOptions.DefaultMaxStreamChars / 2:N0} characters and says how much it dropped).",
        };
        var command = new Command("run", "Run a notebook's cells in order in an in-process C# kernel; write the executed .ipynb and an offline HTML page.")
        {
            notebook, output, parameters, timeout, fullOutput,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(notebook)!, result.GetValue(output)!, result.GetValue(parameters) ?? [], result.GetValue(timeout), result.GetValue(fullOutput), cancellationToken));
        return command;
    }

    // A timer cannot wait longer than int.MaxValue milliseconds (24.8 days); a round figure below that.
    const double MaxCellTimeoutSeconds = 2_000_000;

    static async Task<int> RunAsync(FileInfo notebookFile, DirectoryInfo outDir, string[] parameterArgs, double timeoutSeconds, bool fullOutput, CancellationToken cancellationToken)
    {
        // The kernel swaps Console.Out and Console.Error while a cell runs, and a cell that timed out never gives them
        // back (it may even take them after the run ended, if it was still compiling): the command's own messages go to
        // the writers it started with.
        var (stdout, stderr) = (Console.Out, Console.Error);
        NotebookDocument notebook;
        Dictionary<string, string> parameters;
        try
        {
            parameters = ParseParameters(parameterArgs);
            notebook = NotebookReader.Read(notebookFile.FullName);
        }
        catch (NotebookFormatException e)
        {
            stderr.WriteLine($"rlrig run: {TerminalText.Escape(e.Message)}");
            return ExitCodes.UsageOrIo;
        }
        var name = Path.GetFileNameWithoutExtension(notebookFile.Name);
        // Refused before any cell runs: an output over the notebook itself would bake --param values and partial outputs into the source.
        var outFolder = OutputPolicy.RequireFolder(outDir.ToString(), "--out", [name + ".ipynb", name + ".html"], [],
            new CommandInput(notebookFile.FullName, "the notebook"));
        var ipynbPath = Path.Combine(outFolder, name + ".ipynb");
        var htmlPath = Path.Combine(outFolder, name + ".html");
        // Cells resolve relative paths (#r, data files) against the notebook's folder, as notebook front ends do.
        var previousDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = notebookFile.DirectoryName!;
        NotebookRunResult result;
        try
        {
            result = await NotebookRunner.RunAsync(notebook, new NotebookRunOptions
            {
                Parameters = parameters,
                CellTimeout = TimeSpan.FromSeconds(timeoutSeconds),
                MaxStreamChars = fullOutput ? null : NotebookRunOptions.DefaultMaxStreamChars,
                OnCellStarting = (n, count, cell) => stderr.WriteLine($"[{n}/{count}] {TerminalText.Escape(cell.FirstLine)}"),
            }, cancellationToken);
        }
        catch (NotebookFormatException e)
        {
            stderr.WriteLine($"rlrig run: {TerminalText.Escape(e.Message)}");
            return ExitCodes.UsageOrIo;
        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
        }

        NotebookWriter.Write(result.Notebook, ipynbPath);
        NotebookHtml.Write(result.Notebook, htmlPath);
        if (result.Failure is { } failure)
        {
            stderr.WriteLine($"rlrig run: {TerminalText.Escape(notebookFile.Name)}: {TerminalText.Escape(failure.ToString())}");
            stderr.WriteLine($"rlrig run: wrote what ran so far to {ipynbPath} and {htmlPath}");
            return 1;
        }
        stdout.WriteLine($"Executed {TerminalText.Escape(notebookFile.Name)}: {ipynbPath} and {htmlPath}");
        return 0;
    }

    static Dictionary<string, string> ParseParameters(string[] args)
    {
        var parameters = new Dictionary<string, string>();
        foreach (var arg in args)
        {
            var eq = arg.IndexOf('=');
            if (eq <= 0) throw new NotebookFormatException($"--param '{arg}' must have the form key=value");
            parameters[arg[..eq]] = arg[(eq + 1)..];
        }
        return parameters;
    }
}
