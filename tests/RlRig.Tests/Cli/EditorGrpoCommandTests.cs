using RlRig.Cli.Commands;
using RlRig.Diffusion;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary>
/// <c>rlrig train editor-grpo</c>: its options (the trainer's defaults, each check named by its flag, a resume that keeps
/// the run's options) checked in process before any model loads, and a tiny run that finishes and resumes as users run it.
/// </summary>
public sealed class EditorGrpoCommandTests : TorchTestBase, IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    // The committed files by full path: in process, the defaults would resolve against the test's working folder.
    static string[] Files => ["--eval-set", Repo.PathOf("data", "shapes-world", "eval-prompts.json"), "--checkpoint", Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt"),
        "--checker", Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt"), "--editor-checkpoint", Repo.PathOf("data", "shapes-world", "editor", "editor.ckpt")];

    EditorGrpoOptions Prepare(params string[] args)
    {
        var command = new EditorGrpoCommand();
        var result = command.Command.Parse([.. args, .. Files, "--out", temp.File("run")]);
        Assert.Empty(result.Errors);
        return command.Prepare(result).Options;
    }

    [Fact]
    public void Without_flags_the_options_are_the_trainers_defaults()
    {
        var options = Prepare();
        var defaults = new EditorGrpoOptions();
        Assert.Equal(defaults.Grpo, options.Grpo);
        Assert.Equal(defaults.Sampling, options.Sampling);
        Assert.Equal(defaults.Identity().ToJsonString(), options.Identity().ToJsonString());
        Assert.Equal(defaults.Run with { OutputDir = temp.File("run") }, options.Run);
    }

    [Fact]
    public void Each_flag_sets_its_field_and_the_chain_length_is_the_longest_completion()
    {
        var options = Prepare("--sampling-steps", "6", "--sampling-strength", "0.8", "--eta", "0.5", "--guidance", "2", "--image-guidance", "1.25",
            "--trained-step-fraction", "0.25", "--share-initial-noise", "false", "--num-generations", "2", "--generation-batch-size", "6", "--lr", "3e-5",
            "--beta", "0", "--epsilon", "0.1", "--epsilon-high", "0.3", "--scale-rewards", "None", "--loss-type", "DrGrpo", "--num-iterations", "2",
            "--prompts", "40", "--rollout-rounds", "1", "--steps", "7", "--seed", "5", "--checkpoint-every", "3", "--threads", "2");
        Assert.Equal(new LearnedEditorOptions { Steps = 6, Strength = 0.8, Eta = 0.5, GuidanceScale = 2, ImageGuidanceScale = 1.25 }, options.Sampling);
        Assert.Equal(new EditorGrpoOptions().Grpo with
        {
            NumGenerations = 2, GenerationBatchSize = 6, LearningRate = 3e-5, Beta = 0, Epsilon = 0.1, EpsilonHigh = 0.3, ScaleRewards = RewardScaling.None,
            LossType = GrpoLossType.DrGrpo, NumIterations = 2, MaxCompletionLength = 6,
        }, options.Grpo);
        Assert.Equal((0.25, false, 40, 1), (options.TrainedStepFraction, options.ShareInitialNoise, options.TrainingPrompts, options.RolloutRounds));
        Assert.Equal((7, 5L, 3, 2, false), (options.Run.TotalSteps, options.Run.Seed, options.Run.CheckpointEvery, options.Run.NumThreads, options.Run.Resume));
    }

    [Theory]
    [InlineData("--eta", "0", "eta > 0")]
    [InlineData("--sampling-steps", "0", "must be in [1, 1000] (got 0)")]
    [InlineData("--sampling-strength", "1.5", "strength must be in (0, 1]")]
    [InlineData("--guidance", "NaN", "text guidance")]
    [InlineData("--image-guidance", "-1", "image guidance")]
    [InlineData("--trained-step-fraction", "0", "must be in (0, 1]")]
    [InlineData("--num-generations", "1", "at least 2 generations")]
    [InlineData("--generation-batch-size", "10", "divisible by num_generations (4)")]
    [InlineData("--beta", "-1", "beta")]
    [InlineData("--epsilon", "1", "epsilon")]
    [InlineData("--num-iterations", "0", "num_iterations")]
    [InlineData("--lr", "2", "learning_rate")]
    [InlineData("--prompts", "3", "cannot fill a batch of 4 pairs")]
    public void An_options_check_is_reported_by_the_flag_that_sets_the_field(string flag, string value, string reason)
    {
        var e = Assert.Throws<CommandLineException>(() => Prepare(flag, value));
        Assert.StartsWith($"{flag}: ", e.Message);
        Assert.Contains(reason, e.Message);
        Assert.DoesNotContain("Parameter", e.Message);
        Assert.DoesNotContain("Options.", e.Message);
    }

    [Theory]
    [InlineData("--temperature", "0", "temperature")]
    [InlineData("--reward-weights", "1", "give 2 weights")]
    [InlineData("--rollout-rounds", "-1", "")]
    public void The_actor_command_names_its_own_flags_the_same_way(string flag, string value, string reason)
    {
        var command = new ActorGrpoCommand();
        var result = command.Command.Parse([flag, value, "--out", temp.File("run")]);
        if (result.Errors.Count > 0)
        {
            Assert.StartsWith(flag, result.Errors[0].Message);   // a range System.CommandLine checks as it parses
            return;
        }
        var e = Assert.Throws<CommandLineException>(() => command.Prepare(result));
        Assert.StartsWith($"{flag}: ", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData("--lr", "1e-4")]
    [InlineData("--sampling-steps", "10")]
    [InlineData("--share-initial-noise", "true")]
    [InlineData("--seed", "0")]
    public void A_resume_refuses_a_flag_that_would_change_the_runs_options(string flag, string value)
    {
        var e = Assert.Throws<CommandLineException>(() => Prepare("--resume", flag, value));
        Assert.StartsWith($"{flag}: a resumed run keeps the options it started with", e.Message);
    }

    [Fact]
    public void Bad_input_is_one_line_exit_2_and_writes_nothing()
    {
        var run = temp.File("run");
        string[][] cases = [["--eta", "0"], ["--editor-checkpoint", temp.File("none.ckpt")], ["--resume"]];
        foreach (var args in cases)
        {
            var result = Processes.Rlrig(Repo.Root, Limit, ["train", "editor-grpo", .. args, "--out", run]);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.StartsWith($"rlrig train editor-grpo: {(args[0] == "--resume" ? "nothing to resume" : args[0])}", result.StdErr.Trim());
            Assert.Single(result.StdErr.Trim().Split('\n'));
            Assert.False(Directory.Exists(run));
            if (args[0] == "--editor-checkpoint") Assert.Contains("make it with `rlrig train editor --out DIR`", result.StdErr);
        }
    }

    /// <summary>An editor small enough that a GRPO step takes well under a second, saved as an ordinary editor checkpoint.</summary>
    internal static string TinyEditorCheckpoint(string path)
    {
        TorchSharp.torch.random.manual_seed(3);
        using var model = new TextToImageDiffuser(ShapesWorldEditor.Config(TinyShapesWorldConfig()));
        DiffuserCheckpoint.Save(path, model, 0);
        return path;
    }

    [Fact]
    public void A_tiny_run_finishes_records_its_provenance_and_resumes_where_it_stopped()
    {
        var run = temp.File("run");
        string[] tiny = ["train", "editor-grpo", "--editor-checkpoint", TinyEditorCheckpoint(temp.File("tiny.ckpt")), "--out", run];
        var first = Processes.Rlrig(Repo.Root, Limit, [.. tiny, "--prompts", "2", "--rollout-rounds", "0", "--num-generations", "2", "--generation-batch-size", "2",
            "--sampling-steps", "3", "--sampling-strength", "1", "--steps", "1", "--checkpoint-every", "0"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Finished at step 1", first.StdOut);
        Assert.Matches(@"step 1/1  reward [0-9.]+ ± [0-9.]+  kl [0-9.eE+-]+  clip [0-9.]+ ?%  zero-std [0-9]+ ?%  [0-9.]+ steps/s", first.StdErr);
        var checkpoint = EditorGrpoTrainer.CheckpointPath(run);
        Assert.Contains("\"produced_by\"", File.ReadAllText(DiffuserCheckpoint.ManifestPath(checkpoint)));
        Assert.True(Directory.Exists(Path.Combine(run, "tensorboard")));

        var resumed = Processes.Rlrig(Repo.Root, Limit, [.. tiny, "--resume", "--steps", "2"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("(1 (image, instruction) pairs x 2 edits", resumed.StdErr);
        Assert.Contains("from step 1 ", resumed.StdErr);
        Assert.Contains("Finished at step 2", resumed.StdOut);
        using var saved = DiffuserCheckpoint.Load(checkpoint);
        Assert.Equal(2, saved.Step);
        Assert.Equal(3, saved.Config.ConditionChannels);
    }
}
