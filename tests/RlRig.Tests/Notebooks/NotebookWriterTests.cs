using RlRig.Cli.Notebooks;

namespace RlRig.Tests.Notebooks;

public sealed class NotebookWriterTests
{
    [Fact]
    public void The_schema_check_rejects_a_notebook_without_cell_ids()
    {
        const string noIds = """{"cells":[{"cell_type":"markdown","metadata":{},"source":"x"}],"metadata":{},"nbformat":4,"nbformat_minor":5}""";
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => NbformatSchema.AssertValid(noIds));
    }

    [Fact]
    public void Text_is_stored_as_lines_and_png_as_one_base64_string()
    {
        var cell = new NotebookCell("a", CellKind.Code, "line 1\nline 2", [], [])
        {
            ExecutionCount = 3,
            Outputs = [new DataOutput(new Dictionary<string, string> { ["image/png"] = "AAAA", ["text/plain"] = "x\ny" }, null, 3)],
        };
        var json = NotebookWriter.ToJson(new NotebookDocument("a.ipynb", [cell], []));
        NbformatSchema.AssertValid(json);
        Assert.Contains("\"line 1\\n\",", json);
        Assert.Contains("\"image/png\": \"AAAA\"", json);
        Assert.Contains("\"execution_count\": 3", json);
    }
}
