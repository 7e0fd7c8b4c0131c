using RlRig.Cli.Notebooks;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Notebooks;

/// <summary>The in-process kernel redirects Console and formatters are process-wide: these tests must not run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "in-process kernel";
}

[Collection(KernelCollection.Name)]
public sealed class NotebookRunnerTests : IDisposable
{
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    NotebookDocument Notebook(params (string, string, string[])[] cells) => Read(temp, cells);

    [Fact]
    public async Task Runs_cells_in_order_and_collects_each_kind_of_output()
    {
        var result = await NotebookRunner.RunAsync(Notebook(
            Markdown("# Title"),
            Code("var x = 20;\nConsole.WriteLine(\"first\");\nConsole.WriteLine(\"second\");"),
            Code("display(\"shown\");\nx + 1")));

        Assert.True(result.Succeeded, result.Failure?.ToString());
        var (first, second) = (result.Notebook.Cells[1], result.Notebook.Cells[2]);
        Assert.Equal(1, first.ExecutionCount);
        Assert.Equal(2, second.ExecutionCount);
        var stream = Assert.IsType<StreamOutput>(Assert.Single(first.Outputs));
        Assert.Equal(("stdout", "first\nsecond\n"), (stream.Name, stream.Text.Replace("\r", "")));
        Assert.Collection(second.Outputs,
            o => Assert.Null(Assert.IsType<DataOutput>(o).ExecutionCount),
            o =>
            {
                var value = Assert.IsType<DataOutput>(o);
                Assert.Equal(2, value.ExecutionCount);
                Assert.Contains("21", string.Concat(value.Data.Values));
            });
    }

    [Fact]
    public async Task Stops_at_a_failing_cell_and_names_it()
    {
        var result = await NotebookRunner.RunAsync(Notebook(
            Code("var ok = 1;"),
            Markdown("text"),
            Code("// compute the answer\nthrow new InvalidOperationException(\"the answer is missing\");"),
            Code("Console.WriteLine(\"never runs\");")));

        var failure = Assert.IsType<CellFailure>(result.Failure);
        Assert.Equal(3, failure.CellNumber);
        Assert.Equal("// compute the answer", failure.FirstLine);
        Assert.Contains("the answer is missing", failure.Error);
        Assert.False(failure.TimedOut);
        Assert.IsType<ErrorOutput>(result.Notebook.Cells[2].Outputs.Last());
        Assert.Null(result.Notebook.Cells[3].ExecutionCount);
    }

    [Fact]
    public async Task Compile_errors_fail_the_cell()
    {
        var result = await NotebookRunner.RunAsync(Notebook(Code("var y = undefinedName + 1;")));
        Assert.Contains("undefinedName", Assert.IsType<CellFailure>(result.Failure).Error);
    }

    // The hung cell comes first: a cell before it could itself run past a limit this short on a busy machine.
    [Fact]
    public async Task A_hung_cell_ends_the_run_at_the_time_limit()
    {
        var result = await NotebookRunner.RunAsync(Notebook(Code("System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);"), Code("Console.WriteLine(\"after\");")),
            new NotebookRunOptions { CellTimeout = TimeSpan.FromSeconds(2) });

        var failure = Assert.IsType<CellFailure>(result.Failure);
        Assert.True(failure.TimedOut);
        Assert.Equal(1, failure.CellNumber);
        Assert.Contains("did not finish within 2 s", failure.Error);
        Assert.Equal("Timeout", Assert.IsType<ErrorOutput>(result.Notebook.Cells[0].Outputs[^1]).Name);
        Assert.Empty(result.Notebook.Cells[1].Outputs);
        Assert.Null(result.Notebook.Cells[1].ExecutionCount);
    }

    [Fact]
    public async Task Parameters_override_the_tagged_cell()
    {
        var result = await NotebookRunner.RunAsync(
            Notebook(Code("var steps = 10;\nvar name = \"default\";\nvar quick = false;", "parameters"), Code("$\"{steps * 2} {name} {quick}\"")),
            new NotebookRunOptions { Parameters = new Dictionary<string, string> { ["steps"] = "21", ["name"] = "a \"quoted\" value", ["quick"] = "true" } });

        Assert.True(result.Succeeded, result.Failure?.ToString());
        Assert.Equal("injected-parameters", result.Notebook.Cells[1].Id);
        var output = Assert.IsType<DataOutput>(Assert.Single(result.Notebook.Cells[2].Outputs));
        Assert.Contains("42 a \"quoted\" value True", output.Data["text/plain"]);
    }

    [Fact]
    public async Task Parameters_without_a_parameters_cell_are_an_error()
    {
        var error = await Assert.ThrowsAsync<NotebookFormatException>(() => NotebookRunner.RunAsync(Notebook(Code("1")),
            new NotebookRunOptions { Parameters = new Dictionary<string, string> { ["steps"] = "1" } }));
        Assert.Contains("no code cell is tagged \"parameters\"", error.Message);
    }

    [Theory]
    [InlineData("12", "12")]
    [InlineData("0.5", "0.5")]
    [InlineData("true", "true")]
    [InlineData("runs/a b", "\"runs/a b\"")]
    [InlineData("say \"hi\"\n", "\"say \\\"hi\\\"\\n\"")]
    public void Parameter_values_become_csharp_literals(string value, string literal) => Assert.Equal(literal, NotebookRunner.Literal(value));

    [Fact]
    public async Task Display_updates_replace_the_output_in_place()
    {
        var result = await NotebookRunner.RunAsync(Notebook(Code(
            $"#r \"{typeof(RlRig.Notebook.LiveDisplay).Assembly.Location}\"\nvar d = RlRig.Notebook.LiveDisplay.Show(\"step 1\");\nd.Update(\"step 2\");\nd.Update(\"step 3\");")));
        Assert.True(result.Succeeded, result.Failure?.ToString());
        var output = Assert.IsType<DataOutput>(Assert.Single(result.Notebook.Cells[0].Outputs));
        Assert.Contains("step 3", string.Concat(output.Data.Values));
    }

    [Fact]
    public async Task Written_notebook_is_valid_nbformat_with_every_output_kind()
    {
        var result = await NotebookRunner.RunAsync(Notebook(Markdown("# T"), Code("Console.WriteLine(\"out\");\nConsole.Error.WriteLine(\"err\");\ndisplay(1);\n2"), Code("throw new Exception(\"boom\");")));
        NbformatSchema.AssertValid(NotebookWriter.ToJson(result.Notebook));
    }

    [Fact]
    public async Task Interrupting_a_training_cell_stops_it_cleanly_with_a_checkpoint()
    {
        var run = temp.File("run");
        var notebookDll = typeof(RlRig.Notebook.Training.LiveTraining).Assembly.Location;
        var code = $$"""
            #r "{{notebookDll}}"
            using RlRig.Diffusion;
            var config = new DiffuserConfig { Channels = [8, 16], CrossAttentionResolutions = [8], SelfAttentionResolutions = [], NormGroups = 4, TimeEmbeddingDim = 16, TextDim = 16, TextHeads = 2, AttentionHeads = 2, ImageSize = 16, Vocabulary = SyntheticSquaresDataset.Vocabulary };
            var trainer = new DiffuserTrainer(config, new DiffuserTrainerOptions { TotalSteps = 1_000_000, BatchSize = 2, OutputDir = @"{{run}}", CheckpointEvery = 0 });
            await RlRig.Notebook.Training.LiveTraining.TrainAsync(trainer, new SyntheticSquaresDataset(16), updateEvery: 50);
            """;
        // Interrupted once training has begun (its first TensorBoard event is written), not after a fixed time: on a busy
        // machine a fixed time can run out while the cell is still compiling, before there is anything to save.
        using var interrupt = new CancellationTokenSource();
        var running = NotebookRunner.RunAsync(Notebook(Code(code)), new NotebookRunOptions(), interrupt.Token);
        while (!Directory.Exists(Path.Combine(run, "tensorboard")) && !running.IsCompleted) await Task.Delay(200);
        Assert.False(running.IsCompleted, running.IsCompleted ? (await running).Failure?.ToString() : null);
        interrupt.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        // The runner interrupts the cell as a notebook's stop button does; the trainer saves and returns on its own.
        var checkpoint = Path.Combine(run, "diffuser.ckpt");
        for (var i = 0; i < 1200 && !File.Exists(checkpoint); i++) await Task.Delay(500);
        Assert.True(File.Exists(checkpoint), "no checkpoint after the interrupt");
        Assert.True(File.Exists(Path.Combine(run, "training-state.bin")));
    }
}
