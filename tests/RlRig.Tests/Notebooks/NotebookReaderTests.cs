using RlRig.Cli.Notebooks;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Notebooks;

public sealed class NotebookReaderTests : IDisposable
{
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    NotebookFormatException ReadFails(string name, string content)
    {
        var path = temp.File(name);
        File.WriteAllText(path, content);
        return Assert.Throws<NotebookFormatException>(() => NotebookReader.Read(path));
    }

    [Fact]
    public void Reads_cells_sources_and_tags()
    {
        var path = temp.File("a.ipynb");
        File.WriteAllText(path, Ipynb(Markdown("# Title"), Code("var steps = 10;", "parameters"), Code("steps * 2")));
        var notebook = NotebookReader.Read(path);
        Assert.Equal([CellKind.Markdown, CellKind.Code, CellKind.Code], notebook.Cells.Select(c => c.Kind));
        Assert.Equal("var steps = 10;", notebook.Cells[1].Source);
        Assert.Equal(["parameters"], notebook.Cells[1].Tags);
    }

    [Fact]
    public void Source_as_a_list_of_lines_is_joined()
    {
        var path = temp.File("lines.ipynb");
        File.WriteAllText(path, """{"cells":[{"cell_type":"code","metadata":{},"source":["var a = 1;\n","a"],"outputs":[],"execution_count":null}],"metadata":{},"nbformat":4,"nbformat_minor":4}""");
        Assert.Equal("var a = 1;\na", NotebookReader.Read(path).Cells[0].Source);
    }

    [Fact]
    public void Malformed_json_names_the_file_line_and_column()
    {
        var error = ReadFails("broken.ipynb", "{\n  \"cells\": [\n    {\"cell_type\": \"code\",, }\n  ]\n}");
        Assert.Contains("broken.ipynb", error.Message);
        Assert.Contains("not valid JSON at line 3", error.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var path = temp.File("nowhere.ipynb");
        var error = Assert.Throws<NotebookFormatException>(() => NotebookReader.Read(path));
        Assert.Equal($"{path}: no such file", error.Message);
    }

    [Fact]
    public void Non_csharp_code_cell_is_rejected_with_its_number_and_first_line()
    {
        var json = """{"cells":[{"cell_type":"markdown","metadata":{},"source":"x"},{"cell_type":"code","metadata":{"dotnet_interactive":{"language":"fsharp"}},"source":"let x = 1","outputs":[],"execution_count":null}],"metadata":{},"nbformat":4,"nbformat_minor":5}""";
        var error = ReadFails("fs.ipynb", json);
        Assert.Contains("cell 2 (\"let x = 1\")", error.Message);
        Assert.Contains("'fsharp'", error.Message);
    }

    [Theory]
    [InlineData("""{"metadata":{},"nbformat":4,"nbformat_minor":5}""", "has no \"cells\" array")]
    [InlineData("""{"cells":[{"cell_type":"python","metadata":{},"source":""}],"nbformat":4}""", "cell 1: cell_type must be")]
    [InlineData("""{"cells":[{"cell_type":"code","metadata":{},"source":42}],"nbformat":4}""", "cell 1: \"source\" must be")]
    [InlineData("""{"cells":[],"nbformat":3}""", "nbformat 3 is not supported")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    public void Structural_defects_are_named(string json, string expected)
    {
        Assert.Contains(expected, ReadFails("bad.ipynb", json).Message);
    }

    [Fact]
    public void Dib_files_are_read_with_markdown_and_csharp_cells()
    {
        var path = temp.File("a.dib");
        File.WriteAllText(path, "#!meta\n\n{\"kernelInfo\":{\"defaultKernelName\":\"csharp\",\"items\":[{\"name\":\"csharp\"}]}}\n\n#!markdown\n\n# Hello\n\n#!csharp\n\nvar x = 1 + 1;\nx\n");
        var notebook = NotebookReader.Read(path);
        Assert.Equal([CellKind.Markdown, CellKind.Code], notebook.Cells.Select(c => c.Kind));
        Assert.Equal("var x = 1 + 1;\nx", notebook.Cells[1].Source.Trim());
    }
}
