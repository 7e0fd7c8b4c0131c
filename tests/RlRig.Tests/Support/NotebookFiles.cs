using System.Text.Json.Nodes;

namespace RlRig.Tests.Support;

/// <summary>Writes small notebooks for tests.</summary>
public static class NotebookFiles
{
    /// <summary>An nbformat 4.5 notebook whose cells are (cell_type, source, tags).</summary>
    public static string Ipynb(params (string Kind, string Source, string[] Tags)[] cells) => new JsonObject
    {
        ["cells"] = new JsonArray(cells.Select((c, i) => (JsonNode?)new JsonObject
        {
            ["cell_type"] = c.Kind,
            ["id"] = $"t{i}",
            ["metadata"] = new JsonObject { ["tags"] = new JsonArray(c.Tags.Select(t => (JsonNode?)t).ToArray()) },
            ["source"] = c.Source,
            ["outputs"] = new JsonArray(),
            ["execution_count"] = null,
        }).ToArray()),
        ["metadata"] = new JsonObject(),
        ["nbformat"] = 4,
        ["nbformat_minor"] = 5,
    }.ToJsonString();

    /// <summary>Writes the cells as <c>t.ipynb</c> in <paramref name="temp"/> and reads it back, as the runner's tests need it.</summary>
    public static RlRig.Cli.Notebooks.NotebookDocument Read(TempDir temp, params (string Kind, string Source, string[] Tags)[] cells)
    {
        var path = temp.File("t.ipynb");
        File.WriteAllText(path, Ipynb(cells));
        return RlRig.Cli.Notebooks.NotebookReader.Read(path);
    }

    public static (string, string, string[]) Code(string source, params string[] tags) => ("code", source, tags);

    public static (string, string, string[]) Markdown(string source) => ("markdown", source, []);
}
