using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive.Documents;

namespace RlRig.Cli.Notebooks;

/// <summary>Reads Jupyter notebooks (<c>.ipynb</c>, nbformat 4) and Polyglot Notebooks (<c>.dib</c>) with C# code cells.</summary>
public static class NotebookReader
{
    /// <summary>Reads <paramref name="path"/>; outputs stored in the file are dropped, since the runner recomputes them.</summary>
    /// <exception cref="NotebookFormatException">The file is missing, is not valid JSON/nbformat, or has a non-C# code cell.</exception>
    public static NotebookDocument Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path, Encoding.UTF8); }
        catch (FileNotFoundException) { throw new NotebookFormatException($"{path}: no such file"); }
        catch (DirectoryNotFoundException) { throw new NotebookFormatException($"{path}: no such file (its folder does not exist)"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new NotebookFormatException($"{path}: cannot be read: {e.Message}", e); }

        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".ipynb" => ParseIpynb(path, text),
            ".dib" => ParseDib(path, text),
            var other => throw new NotebookFormatException($"{path}: unsupported notebook type '{other}' (expected .ipynb or .dib)"),
        };
    }

    static NotebookDocument ParseIpynb(string path, string text)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false }); }
        catch (JsonException e)
        {
            throw new NotebookFormatException(
                $"{path}: not valid JSON at line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}: {FirstSentence(e.Message)}", e);
        }
        if (root is not JsonObject notebook) throw new NotebookFormatException($"{path}: a notebook must be a JSON object");
        if (notebook["nbformat"] is JsonValue major && major.TryGetValue<int>(out var nbformat) && nbformat != 4)
            throw new NotebookFormatException($"{path}: nbformat {nbformat} is not supported; save it as nbformat 4");
        if (notebook["cells"] is not JsonArray cells) throw new NotebookFormatException($"{path}: has no \"cells\" array");

        var defaultLanguage = (string?)notebook["metadata"]?["kernelspec"]?["language"] ?? "C#";
        var read = new List<NotebookCell>();
        var ids = new HashSet<string>();
        for (var i = 0; i < cells.Count; i++)
        {
            var where = $"{path}: cell {i + 1}";
            if (cells[i] is not JsonObject cell) throw new NotebookFormatException($"{where}: is not a JSON object");
            var kind = (cell["cell_type"] as JsonValue)?.TryGetValue<string>(out var t) == true ? t : null;
            var cellKind = kind switch
            {
                "code" => CellKind.Code,
                "markdown" => CellKind.Markdown,
                "raw" => CellKind.Raw,
                _ => throw new NotebookFormatException($"{where}: cell_type must be \"code\", \"markdown\" or \"raw\", found {cell["cell_type"]?.ToJsonString() ?? "nothing"}"),
            };
            var source = cell["source"] switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonArray lines when lines.All(l => l is JsonValue lv && lv.TryGetValue<string>(out _)) => string.Concat(lines.Select(l => (string)l!)),
                _ => throw new NotebookFormatException($"{where}: \"source\" must be a string or a list of strings"),
            };
            var metadata = cell["metadata"] as JsonObject ?? [];
            var tags = metadata["tags"] is JsonArray tagArray ? tagArray.Select(x => x?.ToString() ?? "").ToList() : [];
            var id = (cell["id"] as JsonValue)?.TryGetValue<string>(out var given) == true && IsValidId(given) && !ids.Contains(given) ? given : $"cell-{i + 1}";
            ids.Add(id);
            if (cellKind == CellKind.Code)
            {
                var language = (string?)metadata["dotnet_interactive"]?["language"] ?? (string?)metadata["polyglot_notebook"]?["kernelName"] ?? defaultLanguage;
                if (!IsCSharp(language))
                    throw new NotebookFormatException($"{where} (\"{NotebookCell.FirstLineOf(source)}\"): language '{language}' is not supported; rlrig run executes C# cells only");
            }
            read.Add(new NotebookCell(id, cellKind, source, tags, (JsonObject)metadata.DeepClone()));
        }
        return new NotebookDocument(path, read, (JsonObject?)notebook["metadata"]?.DeepClone() ?? []);
    }

    static NotebookDocument ParseDib(string path, string text)
    {
        // Every kernel a .dib may name must be known to the parser: an unknown "#!fsharp" would stay inside the C# cell
        // above it and fail as a compile error at run time (exit 1) where the same .ipynb is refused up front (exit 2).
        var kernels = new KernelInfoCollection
        {
            new("csharp", "C#", ["c#", "C#"]), new("markdown", "Markdown", ["md"]),
            new("fsharp", "F#", ["f#", "F#"]), new("pwsh", "PowerShell", ["powershell"]), new("javascript", "JavaScript", ["js"]),
            new("html", "HTML"), new("sql", "SQL"), new("kql", "KQL"), new("mermaid", "Mermaid"), new("http", "HTTP"), new("value", "Value"),
        };
        kernels.DefaultKernelName = "csharp";
        InteractiveDocument document;
        try { document = CodeSubmission.Parse(text, kernels); }
        catch (Exception e) { throw new NotebookFormatException($"{path}: not a valid .dib file: {e.Message}", e); }
        var cells = new List<NotebookCell>();
        foreach (var (element, i) in document.Elements.Select((e, i) => (e, i)))
        {
            var kind = element.KernelName switch
            {
                "markdown" or "md" => CellKind.Markdown,
                "csharp" or "c#" or "C#" or null => CellKind.Code,
                var other => throw new NotebookFormatException($"{path}: cell {i + 1} (\"{NotebookCell.FirstLineOf(element.Contents)}\"): language '{other}' is not supported; rlrig run executes C# cells only"),
            };
            cells.Add(new NotebookCell($"cell-{i + 1}", kind, element.Contents, [], []));
        }
        return new NotebookDocument(path, cells, []);
    }

    static bool IsCSharp(string language) => language.ToLowerInvariant() is "c#" or "csharp" or "cs";

    static bool IsValidId(string id) => id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    static string FirstSentence(string message) => message.Split(" LineNumber:")[0].TrimEnd('.', ' ');
}
