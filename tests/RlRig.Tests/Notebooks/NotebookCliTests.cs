using System.Text.Json.Nodes;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Notebooks;

/// <summary>The <c>rlrig run</c> command as users run it: a separate process, exit codes, messages, files left behind.</summary>
public sealed class NotebookCliTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Notebooks() => [.. Directory.GetFiles(Repo.PathOf("notebooks"), "*.ipynb").Select(p => Path.GetFileName(p)).Order()];

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_runs_top_to_bottom_in_quick_mode(string name)
    {
        var run = Processes.Rlrig(Repo.Root, Limit, "run", Path.Combine("notebooks", name), "--out", temp.Path, "--param", "quick=true");
        Assert.True(run.ExitCode == 0, run.ToString());

        var executed = File.ReadAllText(temp.File(name));
        NbformatSchema.AssertValid(executed);
        var cells = JsonNode.Parse(executed)!["cells"]!.AsArray();
        var code = cells.Where(c => (string?)c!["cell_type"] == "code").ToList();
        Assert.All(code, c => Assert.NotNull(c!["execution_count"]));
        var errors = code.SelectMany(c => c!["outputs"]!.AsArray()).Where(o => (string?)o!["output_type"] == "error").ToList();
        Assert.True(errors.Count == 0, $"{name} has error outputs: {string.Join("\n", errors)}");
        Assert.True(File.Exists(temp.File(Path.ChangeExtension(name, ".html"))));
    }

    [Fact]
    public void Tour_leaves_an_image_and_a_chart_in_the_notebook_and_the_offline_page()
    {
        var run = Processes.Rlrig(Repo.Root, Limit, "run", "notebooks/00-tour.ipynb", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.ToString());

        var outputs = JsonNode.Parse(File.ReadAllText(temp.File("00-tour.ipynb")))!["cells"]!.AsArray()
            .SelectMany(c => c!["outputs"]?.AsArray() ?? []).Select(o => o!["data"]).OfType<JsonObject>().ToList();
        var png = outputs.Select(d => d["image/png"]).OfType<JsonValue>().Select(v => Convert.FromBase64String((string)v!)).First();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Contains(outputs, d => d["text/html"]?.ToJsonString().Contains("rlrig-plot-") == true);

        var html = File.ReadAllText(temp.File("00-tour.html"));
        Assert.Contains("src=\"data:image/png;base64,", html);
        Assert.Contains("rlrig-plot-", html);
        Assert.Contains("plotly.js v2.28.0", html); // inlined, so the page draws the chart offline
    }

    [Fact]
    public void A_failing_cell_stops_the_run_names_the_cell_and_keeps_what_ran()
    {
        var path = temp.File("fails.ipynb");
        File.WriteAllText(path, Ipynb(Code("Console.WriteLine(\"ran first\");"), Markdown("next"), Code("// load the data\nthrow new System.IO.FileNotFoundException(\"data/missing.json was not found\");"), Code("Console.WriteLine(\"never\");")));
        var run = Processes.Rlrig(temp.Path, Limit, "run", path, "--out", temp.File("out"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("fails.ipynb: cell 3 (\"// load the data\") failed: FileNotFoundException: data/missing.json was not found", run.StdErr);
        Assert.DoesNotContain("   at ", run.StdErr);
        var written = File.ReadAllText(temp.File("out/fails.ipynb"));
        Assert.Contains("ran first", written);
        Assert.DoesNotContain("never\\n", written);
        Assert.True(File.Exists(temp.File("out/fails.html")));
    }

    // A limit of 0.001 s always runs out while the kernel is still compiling the cell, which is where a busy machine put
    // the 3 s one: the cell then takes the console after the run has ended, and the command's message was lost.
    [Theory]
    [InlineData("System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);", "3")]
    [InlineData("System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);", "0.001")]
    [InlineData("for (var i = 0; ; i++) { }", "0.001")]
    [InlineData("await System.Threading.Tasks.Task.Delay(-1);", "2")]
    public void A_hung_cell_is_ended_by_the_cell_timeout(string code, string limit)
    {
        var path = temp.File("hangs.ipynb");
        File.WriteAllText(path, Ipynb(Code(code)));
        var run = Processes.Rlrig(temp.Path, Limit, "run", path, "--out", temp.File("out"), "--cell-timeout", limit);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.True(run.StdErr.Contains($"cell 1 (\"{code}\") timed out: did not finish within {limit} s", StringComparison.Ordinal), run.ToString());
        Assert.True(File.Exists(temp.File("out/hangs.ipynb")));
    }

    [Fact]
    public void Malformed_json_is_reported_with_its_position()
    {
        var path = temp.File("broken.ipynb");
        File.WriteAllText(path, "{\"cells\": [\n  {\"cell_type\": \"code\" \"source\": \"1\"}\n]}");
        var run = Processes.Rlrig(temp.Path, Limit, "run", path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("broken.ipynb: not valid JSON at line 2", run.StdErr);
        Assert.DoesNotContain("   at ", run.StdErr);
    }

    [Fact]
    public void A_missing_notebook_is_reported()
    {
        var run = Processes.Rlrig(temp.Path, Limit, "run", "no-such.ipynb");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("no-such.ipynb: no such file", run.StdErr);
    }

    [Fact]
    public void Tour_runs_in_dotnet_repl_an_independent_host()
    {
        var restore = Processes.Exec("dotnet", ["tool", "restore"], Repo.Root, Limit);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        var output = temp.File("repl-00-tour.ipynb");
        var run = Processes.Exec("dotnet", ["tool", "run", "dotnet-repl", "--", "--run", "00-tour.ipynb", "--exit-after-run", "--output-path", output],
            Repo.PathOf("notebooks"), Limit);
        Assert.True(run.ExitCode == 0, run.ToString());

        var text = File.ReadAllText(output);
        Assert.Contains("RlRig loaded: libtorch 2.10", text);
        Assert.Contains("Plotly.NET charts cannot render in this host", text);
        Assert.Contains("image/png", text);
        Assert.Contains("rlrig-plot-", text);
    }
}
