using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;

namespace RlRig.Cli.Notebooks;

/// <summary>Writes an executed notebook as nbformat 4.5 JSON, the form GitHub and every Jupyter front end read.</summary>
public static class NotebookWriter
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The notebook as nbformat 4.5 JSON text.</summary>
    public static string ToJson(NotebookDocument notebook)
    {
        var metadata = (JsonObject)notebook.Metadata.DeepClone();
        metadata["kernelspec"] ??= new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" };
        metadata["language_info"] ??= new JsonObject { ["name"] = "C#", ["file_extension"] = ".cs", ["mimetype"] = "text/x-csharp", ["pygments_lexer"] = "csharp" };
        var root = new JsonObject
        {
            ["cells"] = new JsonArray(notebook.Cells.Select(Cell).ToArray()),
            ["metadata"] = metadata,
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        return root.ToJsonString(Indented) + "\n";
    }

    /// <summary>Writes the notebook to <paramref name="path"/> atomically.</summary>
    public static void Write(NotebookDocument notebook, string path) => AtomicFile.WriteAllText(path, ToJson(notebook));

    static JsonNode Cell(NotebookCell cell)
    {
        var json = new JsonObject
        {
            ["cell_type"] = cell.Kind switch { CellKind.Code => "code", CellKind.Markdown => "markdown", _ => "raw" },
            ["id"] = cell.Id,
            ["metadata"] = cell.Metadata.DeepClone(),
            ["source"] = Lines(cell.Source),
        };
        if (cell.Kind == CellKind.Code)
        {
            json["execution_count"] = cell.ExecutionCount;
            json["outputs"] = new JsonArray(cell.Outputs.Select(Output).ToArray());
        }
        return json;
    }

    static JsonNode Output(CellOutput output) => output switch
    {
        StreamOutput s => new JsonObject { ["output_type"] = "stream", ["name"] = s.Name, ["text"] = Lines(s.Text) },
        DataOutput { ExecutionCount: { } n } d => new JsonObject { ["output_type"] = "execute_result", ["data"] = Data(d), ["execution_count"] = n, ["metadata"] = new JsonObject() },
        DataOutput d => new JsonObject { ["output_type"] = "display_data", ["data"] = Data(d), ["metadata"] = new JsonObject() },
        ErrorOutput e => new JsonObject { ["output_type"] = "error", ["ename"] = e.Name, ["evalue"] = e.Value, ["traceback"] = new JsonArray(e.Traceback.Select(l => (JsonNode?)l).ToArray()) },
        _ => throw new ArgumentOutOfRangeException(nameof(output), output, "unknown output kind"),
    };

    // Text MIME types are stored as lists of lines (the nbformat convention that keeps diffs readable); base64 images as one string.
    static JsonObject Data(DataOutput output) => new(output.Data.Select(kv => KeyValuePair.Create(kv.Key,
        kv.Key.StartsWith("image/", StringComparison.Ordinal) && kv.Key != "image/svg+xml" ? (JsonNode?)kv.Value : Lines(kv.Value))));

    static JsonArray Lines(string text) => new(SplitKeepingNewlines(text).Select(l => (JsonNode?)l).ToArray());

    static IEnumerable<string> SplitKeepingNewlines(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
            if (text[i] == '\n')
            {
                yield return text[start..(i + 1)];
                start = i + 1;
            }
        if (start < text.Length) yield return text[start..];
    }
}
