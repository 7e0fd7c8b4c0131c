using RlRig.Cli.Notebooks;

namespace RlRig.Tests.Notebooks;

public sealed class NotebookHtmlTests
{
    static NotebookDocument Doc(params NotebookCell[] cells) => new("/x/nb <1>.ipynb", cells, []);

    static NotebookCell Cell(CellKind kind, string source, params CellOutput[] outputs) => new("c", kind, source, [], []) { Outputs = outputs, ExecutionCount = kind == CellKind.Code ? 1 : null };

    [Fact]
    public void Markdown_renders_but_raw_html_in_it_is_escaped()
    {
        var html = NotebookHtml.Render(Doc(Cell(CellKind.Markdown, "# Title\n\nSome *emphasis* <script>alert(1)</script>")));
        Assert.Contains("<h1", html);
        Assert.Contains("<em>emphasis</em>", html);
        Assert.DoesNotContain("<script>alert(1)</script>", html);
        Assert.Contains("&lt;script&gt;", html);
    }

    [Fact]
    public void Code_text_outputs_and_errors_are_escaped_and_images_inlined()
    {
        var html = NotebookHtml.Render(Doc(Cell(CellKind.Code, "var s = \"<b>\";",
            new StreamOutput("stdout", "<i>printed</i>"),
            new DataOutput(new Dictionary<string, string> { ["image/png"] = "iVBORw0KGgo=" }, null, null),
            new DataOutput(new Dictionary<string, string> { ["text/plain"] = "<plain>" }, null, 1),
            new ErrorOutput("Exception", "<boom>", ["<boom>"]))));
        Assert.Contains("var s = &quot;&lt;b&gt;&quot;;", html);
        Assert.Contains("&lt;i&gt;printed&lt;/i&gt;", html);
        Assert.Contains("src=\"data:image/png;base64,iVBORw0KGgo=\"", html);
        Assert.Contains("&lt;plain&gt;", html);
        Assert.Contains("Exception: &lt;boom&gt;", html);
        Assert.Contains("<title>nb &lt;1&gt;.ipynb</title>", html);
        Assert.DoesNotContain("plotly.js v", html); // no chart, no 3.5 MB library
    }
}
