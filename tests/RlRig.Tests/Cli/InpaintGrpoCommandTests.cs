using System.CommandLine;
using System.Security.Cryptography;
using RlRig.Cli.Commands;
using RlRig.Diffusion;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary>
/// <c>rlrig train editor-grpo --chain inpaint</c> (the training-free editor's region chain on a copy of the Diffuser)
/// and <c>--editor inpaint-grpo</c> in the loop: options, refusals before any work, and the tuned weights in the editor.
/// </summary>
public sealed class InpaintGrpoCommandTests : TorchTestBase, IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    static string Diffuser => Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt");

    static string[] Files => ["--eval-set", Repo.PathOf("data", "shapes-world", "eval-prompts.json"), "--checker", Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt")];

    static EditorGrpoOptions Prepare(params string[] args)
    {
        var command = new EditorGrpoCommand();
        var result = command.Command.Parse([.. args, .. Files]);
        Assert.Empty(result.Errors);
        return command.Prepare(result).Options;
    }

    [Fact]
    public void The_inpainting_chain_trains_the_loops_editor_and_its_longest_pass_is_the_completion_length()
    {
        var options = Prepare("--chain", "inpaint", "--checkpoint", Diffuser, "--out", temp.File("run"));
        Assert.Equal(EditorChain.Inpaint, options.Chain);
        Assert.Equal(new TrainingFreeEditorOptions(), options.Inpainting);
        Assert.Equal(8, options.Grpo.MaxCompletionLength);   // strength 0.4 of the 20-step grid
        Assert.Equal("inpaint", options.Identity()["chain"]!.GetValue<string>());
        Assert.Equal(options.Identity().ToJsonString(), EditorGrpoOptions.From(options.Identity(), options.Run).Identity().ToJsonString());
        var stronger = Prepare("--chain", "inpaint", "--sampling-strength", "0.6", "--checkpoint", Diffuser, "--out", temp.File("run"));
        Assert.Equal((0.6, 0.2, 12), (stronger.Inpainting.Strength, stronger.Inpainting.ClearStrength, stronger.Grpo.MaxCompletionLength));
        // The learned editor's identity is as it was before the chain existed, so its runs resume.
        Assert.Null(new EditorGrpoOptions().Identity()["chain"]);
        var filtered = Prepare("--chain", "inpaint", "--filter-pool", "--checkpoint", Diffuser, "--out", temp.File("run"));
        Assert.True(filtered.FilterPool);
        Assert.True(EditorGrpoOptions.From(filtered.Identity(), filtered.Run).FilterPool);
        Assert.Null(options.Identity()["filter_pool"]);
    }

    [Theory]
    [InlineData("--sampling-steps", "5")]
    [InlineData("--eta", "0.5")]
    [InlineData("--image-guidance", "1.5")]
    public void A_learned_chain_flag_with_the_inpainting_chain_is_refused_by_name(string flag, string value)
    {
        var e = Assert.Throws<CommandLineException>(() => Prepare("--chain", "inpaint", flag, value, "--checkpoint", Diffuser, "--out", temp.File("run")));
        Assert.StartsWith($"{flag}: sets the learned editor's chain; --chain inpaint trains the training-free editor's", e.Message);
    }

    [Fact]
    public void Out_onto_the_diffuser_it_starts_from_is_refused()
    {
        var folder = temp.File("models");
        Directory.CreateDirectory(folder);
        var start = Path.Combine(folder, "diffuser.ckpt");
        File.Copy(Diffuser, start);
        var e = Assert.Throws<CommandLineException>(() => Prepare("--chain", "inpaint", "--checkpoint", start, "--out", folder));
        Assert.Contains("--out", e.Message);
        Assert.Contains("--checkpoint", e.Message);
        // The learned chain writes editor.ckpt: the same folder is no input of its own there.
        Assert.Equal(Path.Combine(folder, "diffuser.ckpt"), EditorGrpoTrainer.CheckpointPath(folder, EditorChain.Inpaint));
    }

    [Fact]
    public void Bad_input_is_one_line_exit_2_before_any_work()
    {
        var run = temp.File("run");
        (string[] Args, string Start)[] cases =
        [
            (["--chain", "inpaint", "--guidance", "2"], "rlrig train editor-grpo: --guidance: sets the learned editor's chain"),
            (["--chain", "diffuse"], "--chain must be instruct or inpaint"),   // the parser's refusal, as every command's
            (["--chain", "inpaint", "--checkpoint", temp.File("none.ckpt")], "rlrig train editor-grpo: --checkpoint"),
        ];
        foreach (var (args, start) in cases)
        {
            var result = Processes.Rlrig(Repo.Root, Limit, ["train", "editor-grpo", .. args, "--out", run]);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.StartsWith(start, result.StdErr.Trim());
            Assert.Single(result.StdErr.Trim().Split('\n'));
            Assert.False(Directory.Exists(run));
        }
    }

    [Fact]
    public void A_short_run_trains_a_copy_of_the_diffuser_records_its_provenance_and_resumes()
    {
        var run = temp.File("run");
        string[] args = ["train", "editor-grpo", "--chain", "inpaint", "--out", run, "--prompts", "2", "--rollout-rounds", "0", "--num-generations", "2",
            "--generation-batch-size", "2", "--checkpoint-every", "0", "--filter-pool", "false"];
        var first = Processes.Rlrig(Repo.Root, Limit, [.. args, "--steps", "1"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Finished at step 1", first.StdOut);
        Assert.Matches(@"step 1/1  reward [0-9.]+ ± [0-9.]+  kl [0-9.eE+-]+  clip [0-9.]+ ?%  zero-std [0-9]+ ?%", first.StdErr);
        var checkpoint = EditorGrpoTrainer.CheckpointPath(run, EditorChain.Inpaint);
        var manifest = File.ReadAllText(DiffuserCheckpoint.ManifestPath(checkpoint));
        Assert.Contains("\"produced_by\"", manifest);
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Diffuser))), manifest);   // init_from: the Diffuser it started from
        // The run keeps its chain: --resume without --chain, and no learned editor checkpoint needed (the rollouts' editor is the training-free one).
        var resumed = Processes.Rlrig(Repo.Root, Limit, ["train", "editor-grpo", "--out", run, "--resume", "--steps", "2", "--editor-checkpoint", temp.File("none.ckpt")]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("from step 1 ", resumed.StdErr);
        using var saved = DiffuserCheckpoint.Load(checkpoint);
        Assert.Equal((2, 0), (saved.Step, saved.Config.ConditionChannels));   // a Diffuser, that --editor inpaint-grpo reads
    }

    [Fact]
    public void Eval_editor_refuses_an_editor_checkpoint_for_the_tuned_chain_in_one_line()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "editor", "--editor", "inpaint-grpo", "--editor-checkpoint", EditorGrpoCommandTests.TinyEditorCheckpoint(temp.File("editor.ckpt")),
            "--renders", "1", "--samples", "0");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("rlrig eval editor: --editor-checkpoint ", result.StdErr.Trim());
        Assert.Contains("not a Diffuser", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public void Eval_system_refuses_an_editor_checkpoint_for_the_tuned_chain_before_touching_the_run_folder()
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "system", "--system", "loop", "--editor", "inpaint-grpo", "--editor-checkpoint",
            EditorGrpoCommandTests.TinyEditorCheckpoint(temp.File("editor.ckpt")), "--out", run);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("not a Diffuser", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(run));   // no run.json left to refuse the corrected command
    }

    static (LoopSetup Setup, ParseResult Result) ParseLoop(params string[] args)
    {
        var setup = new LoopSetup();
        var command = new Command("loop");
        foreach (var option in setup.All) command.Options.Add(option);
        var result = command.Parse(["--checkpoint", Diffuser, "--checker", Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt"), .. args]);
        Assert.Empty(result.Errors);
        return (setup, result);
    }

    [Fact]
    public void Inpaint_grpo_in_the_loop_reads_its_default_records_its_hash_and_names_how_to_make_it()
    {
        var (setup, result) = ParseLoop("--editor", "inpaint-grpo");
        Assert.Equal(new FileInfo(TrainingFreeEditor.GrpoRelativePath).FullName, setup.EditorCheckpointPath(result));
        var missing = temp.File("none.ckpt");
        var (missingSetup, missingResult) = ParseLoop("--editor", "inpaint-grpo", "--editor-checkpoint", missing);
        var e = Assert.Throws<CommandLineException>(() => missingSetup.RequireFiles(missingResult));
        Assert.StartsWith($"--editor-checkpoint {missing}: no such file; make it with `rlrig train editor-grpo --chain inpaint --out DIR`, then copy DIR/diffuser.ckpt", e.Message);
        var described = ParseLoop("--editor", "inpaint-grpo", "--editor-checkpoint", Diffuser) is var (s, r) ? s.Describe(r) : null;
        Assert.Equal("inpaint-grpo", described!["editor"]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Diffuser))), described["editor_sha256"]);
        Assert.Equal("0.4", described["strength"]);   // the training-free editor's, read
        Assert.Contains(new CommandInput(Diffuser, "--editor-checkpoint"), s.Inputs(r));
    }

    [Fact]
    public void Inpaint_grpo_draws_the_first_image_with_the_diffuser_and_edits_with_the_tuned_weights()
    {
        var tuned = temp.File("tuned.ckpt");
        TorchSharp.torch.random.manual_seed(2);
        using (var model = new TextToImageDiffuser(TinyShapesWorldConfig())) DiffuserCheckpoint.Save(tuned, model, 0);
        var (setup, result) = ParseLoop("--editor", "inpaint-grpo", "--editor-checkpoint", tuned);
        setup.RequireFiles(result);
        using var parts = setup.Load(result);
        var editor = Assert.IsType<TrainingFreeEditor>(parts.Editor);
        Assert.Same(parts.EditorModel!.Model, editor.Pipeline.Model);
        Assert.NotSame(parts.DiffuserModel.Model, editor.Pipeline.Model);
        // An editor checkpoint reads a source image: it is no Diffuser for the editor's passes.
        var (wrongSetup, wrong) = ParseLoop("--editor", "inpaint-grpo", "--editor-checkpoint", EditorGrpoCommandTests.TinyEditorCheckpoint(temp.File("editor.ckpt")));
        var e = Assert.Throws<CommandLineException>(() => wrongSetup.Load(wrong).Dispose());
        Assert.StartsWith("--editor-checkpoint ", e.Message);
        Assert.Contains("not a Diffuser", e.Message);
    }
}
