using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace RlRig.Cli.Notebooks;

/// <summary>Options of <see cref="NotebookRunner.RunAsync"/>.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>Values that replace the defaults of the cell tagged <c>parameters</c> (as papermill does): a cell
    /// assigning them is inserted right after it. Values that parse as integers, numbers or booleans are passed as such,
    /// anything else as a string. Defaults to none.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>How long one cell may run before the run is stopped as hung. Defaults to 10 minutes.</summary>
    public TimeSpan CellTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The <see cref="MaxStreamChars"/> of <c>rlrig run</c>: 1 MiB of text per output keeps any notebook
    /// viewable while leaving far more than a reader scrolls through.</summary>
    public const int DefaultMaxStreamChars = 1 << 20;

    /// <summary>The most characters one stream output keeps (its first and last halves, with a note saying how much was
    /// dropped between them, see <see cref="StreamCapture"/>); null keeps everything. Defaults to <see cref="DefaultMaxStreamChars"/>.</summary>
    public int? MaxStreamChars { get; init; } = DefaultMaxStreamChars;

    /// <summary>Called before each code cell runs with (1-based cell number, cell count, cell).</summary>
    public Action<int, int, NotebookCell>? OnCellStarting { get; init; }
}

/// <summary>How a run ended.</summary>
/// <param name="Notebook">The notebook with the outputs of every cell that ran.</param>
/// <param name="Failure">Null if every cell ran; else which cell failed and why.</param>
public sealed record NotebookRunResult(NotebookDocument Notebook, CellFailure? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>A cell that raised an error or ran past its time limit.</summary>
/// <param name="CellNumber">1-based position among all cells, as a notebook front end counts them.</param>
public sealed record CellFailure(int CellNumber, string FirstLine, string Error, bool TimedOut)
{
    public override string ToString() => $"cell {CellNumber} (\"{FirstLine}\") {(TimedOut ? "timed out" : "failed")}: {Error}";
}

/// <summary>
/// Executes a notebook's C# cells in order in an in-process .NET Interactive kernel, collecting each cell's outputs as
/// nbformat outputs. Stops at the first failing or hung cell and returns what it has.
/// </summary>
public static class NotebookRunner
{
    /// <summary>The tag of the cell whose assignments <see cref="NotebookRunOptions.Parameters"/> override.</summary>
    public const string ParametersTag = "parameters";

    /// <summary>Runs <paramref name="notebook"/>. Cancelling stops before the next cell (a running cell is asked to cancel).</summary>
    /// <exception cref="NotebookFormatException">Parameters were given but the notebook has no cell tagged <c>parameters</c>, or a name is not a C# identifier.</exception>
    public static async Task<NotebookRunResult> RunAsync(NotebookDocument notebook, NotebookRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NotebookRunOptions();
        var cells = WithParameters(notebook, options.Parameters).ToList();
        using var kernel = CreateKernel();
        var executionCount = 0;
        for (var i = 0; i < cells.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (cells[i].Kind != CellKind.Code) continue;
            options.OnCellStarting?.Invoke(i + 1, cells.Count, cells[i]);
            var (outputs, error, timedOut) = await RunCellAsync(kernel, cells[i].Source, ++executionCount, options, cancellationToken);
            cells[i] = cells[i] with { Outputs = outputs, ExecutionCount = executionCount };
            if (error is not null)
                return new NotebookRunResult(notebook with { Cells = cells }, new CellFailure(i + 1, cells[i].FirstLine, error, timedOut));
        }
        return new NotebookRunResult(notebook with { Cells = cells }, null);
    }

    static CompositeKernel CreateKernel()
    {
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        return new CompositeKernel { csharp }.UseDefaultKernel("csharp");
    }

    static CompositeKernel UseDefaultKernel(this CompositeKernel kernel, string name)
    {
        kernel.DefaultKernelName = name;
        return kernel;
    }

    static async Task<(List<CellOutput> Outputs, string? Error, bool TimedOut)> RunCellAsync(
        Kernel kernel, string code, int executionCount, NotebookRunOptions options, CancellationToken cancellationToken)
    {
        var outputs = new CellOutputCollector(options.MaxStreamChars);
        string? error = null;
        var gate = new object();
        using var subscription = kernel.KernelEvents.Subscribe(e =>
        {
            lock (gate) Collect(e, outputs, executionCount, ref error);
        });
        // Task.Run: a cell that never yields must not block the thread that enforces the time limit.
        var submission = Task.Run(() => kernel.SendAsync(new SubmitCode(code), cancellationToken), cancellationToken);
        var finished = await Task.WhenAny(submission, Task.Delay(options.CellTimeout, cancellationToken));
        if (finished != submission)
        {
            // Timed out or cancelled, the cell is interrupted as a notebook's stop button does: code that watches the
            // cell's token (training) stops cleanly; code that does not cannot be stopped and is left behind.
            _ = kernel.SendAsync(new Cancel());
            cancellationToken.ThrowIfCancellationRequested();
            lock (gate)
            {
                var message = $"did not finish within {options.CellTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
                outputs.Add(new ErrorOutput("Timeout", message, [message]));
                return (outputs.ToList(), message, true);
            }
        }
        await submission;
        lock (gate) return (outputs.ToList(), error, false);
    }

    static void Collect(KernelEvent e, CellOutputCollector outputs, int executionCount, ref string? error)
    {
        switch (e)
        {
            case StandardOutputValueProduced o: outputs.AppendStream("stdout", Text(o)); break;
            case StandardErrorValueProduced o: outputs.AppendStream("stderr", Text(o)); break;
            case ReturnValueProduced r: outputs.Add(new DataOutput(Data(r), r.ValueId, executionCount)); break;
            case DisplayedValueUpdated u: outputs.Replace(u.ValueId, Data(u)); break;
            case DisplayedValueProduced d: outputs.Add(new DataOutput(Data(d), d.ValueId, null)); break;
            case ErrorProduced p when p.Command is SubmitCode: outputs.AppendStream("stderr", p.Message + "\n"); break;
            case CommandFailed f when f.Command is SubmitCode:
                // A compile error's message already says what it is; an exception's type is part of what went wrong.
                error = f.Exception is { } ex && ex.GetType().Name != "CodeSubmissionCompilationErrorException" ? $"{ex.GetType().Name}: {ex.Message}" : f.Message;
                var lines = (f.Exception?.ToString() ?? f.Message).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
                outputs.Add(new ErrorOutput(f.Exception?.GetType().Name ?? "Error", f.Exception?.Message ?? f.Message, lines));
                break;
        }
    }

    static string Text(DisplayEvent e) => e.FormattedValues.FirstOrDefault()?.Value ?? e.Value?.ToString() ?? "";

    static Dictionary<string, string> Data(DisplayEvent e) =>
        e.FormattedValues.Where(v => !v.SuppressDisplay).GroupBy(v => v.MimeType).ToDictionary(g => g.Key, g => g.First().Value);

    static IEnumerable<NotebookCell> WithParameters(NotebookDocument notebook, IReadOnlyDictionary<string, string> parameters)
    {
        if (parameters.Count == 0) return notebook.Cells;
        var index = notebook.Cells.ToList().FindIndex(c => c.Kind == CellKind.Code && c.Tags.Contains(ParametersTag));
        if (index < 0)
            throw new NotebookFormatException($"{notebook.Path}: parameters were given ({string.Join(", ", parameters.Keys)}) but no code cell is tagged \"{ParametersTag}\"");
        // An override of a name the cell does not assign would fail as a compile error in "cell 2", after the cells
        // before it ran: a misspelt --param is a bad command line, said so before anything runs.
        var assigned = AssignedNames(notebook.Cells[index].Source);
        var unknown = parameters.Keys.Where(k => !assigned.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new NotebookFormatException($"{notebook.Path}: no parameter named {string.Join(", ", unknown.Select(k => $"'{k}'"))}; the cell tagged \"{ParametersTag}\" assigns {(assigned.Count == 0 ? "nothing" : string.Join(", ", assigned.Order(StringComparer.Ordinal)))}");
        var assignments = parameters.Select(p => $"{ValidName(notebook.Path, p.Key)} = {Literal(p.Value)};");
        var injected = new NotebookCell("injected-parameters", CellKind.Code, "// Parameters given to rlrig run\n" + string.Join("\n", assignments),
            ["injected-parameters"], []);
        return notebook.Cells.Take(index + 1).Append(injected).Concat(notebook.Cells.Skip(index + 1));
    }

    // The names a parameters cell assigns, papermill style: "var quick = false;", "int n = 3;", "seed = 7;" at the start of a line.
    static HashSet<string> AssignedNames(string source) =>
        [.. Regex.Matches(source, @"(?m)^[ \t]*(?:[A-Za-z_][\w.]*(?:<[^=;]*>)?(?:\[\])?\??[ \t]+)?([A-Za-z_]\w*)[ \t]*=(?!=)").Select(m => m.Groups[1].Value)];

    static string ValidName(string path, string name) =>
        Regex.IsMatch(name, "^[A-Za-z_][A-Za-z0-9_]*$") ? name
            : throw new NotebookFormatException($"{path}: parameter name '{name}' is not a C# identifier");

    /// <summary>The C# literal for a parameter value: integer, number, boolean, else a string.</summary>
    public static string Literal(string value)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return l.ToString(CultureInfo.InvariantCulture);
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return d.ToString("R", CultureInfo.InvariantCulture);
        if (bool.TryParse(value, out var b)) return b ? "true" : "false";
        return Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(value, quote: true);
    }
}
