using System.Text.Json.Nodes;

namespace RlRig.Cli.Notebooks;

/// <summary>The kind of a notebook cell.</summary>
public enum CellKind { Code, Markdown, Raw }

/// <summary>One cell: its source, and after a run its outputs and execution count.</summary>
/// <param name="Id">The nbformat 4.5 cell id.</param>
/// <param name="Metadata">The cell's metadata, carried through unchanged.</param>
public sealed record NotebookCell(string Id, CellKind Kind, string Source, IReadOnlyList<string> Tags, JsonObject Metadata)
{
    /// <summary>Outputs in the order they appeared.</summary>
    public IReadOnlyList<CellOutput> Outputs { get; init; } = [];

    /// <summary>The execution count, set for code cells that ran.</summary>
    public int? ExecutionCount { get; init; }

    /// <summary>The first non-empty line of the source, for messages that must say which cell.</summary>
    public string FirstLine => FirstLineOf(Source);

    /// <summary>The first non-empty line of <paramref name="source"/>, trimmed, or "(empty)".</summary>
    public static string FirstLineOf(string source) => source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "(empty)";
}

/// <summary>A notebook: cells plus the notebook-level metadata (kernelspec, language_info), kept as read.</summary>
public sealed record NotebookDocument(string Path, IReadOnlyList<NotebookCell> Cells, JsonObject Metadata);

/// <summary>A cell output, as nbformat 4 defines the kinds.</summary>
public abstract record CellOutput;

/// <summary>Text written to standard output or standard error (<c>stream</c>).</summary>
public sealed record StreamOutput(string Name, string Text) : CellOutput;

/// <summary>A displayed value or the cell's result: formatted data by MIME type (<c>display_data</c> / <c>execute_result</c>).</summary>
/// <param name="DisplayId">The id under which later updates replace this output, if any.</param>
/// <param name="ExecutionCount">Set for the cell's result (<c>execute_result</c>), null for a displayed value.</param>
public sealed record DataOutput(IReadOnlyDictionary<string, string> Data, string? DisplayId, int? ExecutionCount) : CellOutput;

/// <summary>An error raised by the cell (<c>error</c>).</summary>
public sealed record ErrorOutput(string Name, string Value, IReadOnlyList<string> Traceback) : CellOutput;
