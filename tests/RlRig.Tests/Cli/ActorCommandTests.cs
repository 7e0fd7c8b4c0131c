using RlRig.Loop.Actors;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig train actor</c>, <c>rlrig eval actor</c> and <c>--actor learned</c> as users run them.</summary>
public sealed class ActorCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("--steps", "0")]
    [InlineData("--batch", "-1")]
    [InlineData("--seed", "-5")]
    [InlineData("--checkpoint-every", "-1")]
    [InlineData("--threads", "-1")]
    [InlineData("--lr", "NaN")]
    [InlineData("--lr", "1.5")]
    [InlineData("--eval-set", "/nonexistent/eval-prompts.json")]
    [InlineData("--real-fraction", "0.5")]
    [InlineData("--real-fraction", "0", "--real-prompts", "10")]
    [InlineData("--real-prompts", "-1")]
    [InlineData("--rollout-rounds", "-1", "--real-prompts", "10", "--real-fraction", "0.5")]
    [InlineData("--real-fraction", "1.5", "--real-prompts", "10")]
    [InlineData("--init", "/nonexistent/actor.ckpt")]
    [InlineData("--checkpoint", "/nonexistent/diffuser.ckpt", "--real-prompts", "10", "--real-fraction", "0.5")]
    [InlineData("--references", "words", "--init", "data/shapes-world/actor/actor.ckpt")]
    [InlineData("--references", "slots", "--resume")]
    public void A_bad_training_flag_exits_2_naming_it_in_one_line(string flag, string value, params string[] more)
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, ["train", "actor", flag, value, .. more, "--out", run]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"rlrig train actor: {flag}", result.StdErr.Trim());
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void A_value_the_parser_refuses_is_one_line_without_the_help()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, ["eval", "actor", "--real-prompts", "-3"]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--real-prompts", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.DoesNotContain("Usage:", result.StdOut + result.StdErr);
    }

    [Fact]
    public void A_run_folder_that_holds_the_init_checkpoint_is_refused_and_the_checkpoint_is_left_as_it_was()
    {
        var folder = temp.File("start");
        Directory.CreateDirectory(folder);
        var start = Path.Combine(folder, "actor.ckpt");
        File.Copy(Path.Combine(Repo.Root, "data", "shapes-world", "actor", "actor.ckpt"), start);
        var before = File.ReadAllBytes(start);
        var result = Processes.Rlrig(Repo.Root, Limit, ["train", "actor", "--init", start, "--steps", "1", "--out", folder]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("rlrig train actor: --out", result.StdErr.Trim());
        Assert.Contains("--init", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(start));
        Assert.False(File.Exists(Path.Combine(folder, "training-state.bin")));
    }

    [Fact]
    public void Training_finishes_resumes_and_eval_reads_the_result()
    {
        var run = temp.File("run");
        var first = Processes.Rlrig(Repo.Root, Limit, "train", "actor", "--steps", "2", "--batch", "2", "--out", run);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Finished at step 2", first.StdOut);
        var resumed = Processes.Rlrig(Repo.Root, Limit, "train", "actor", "--steps", "3", "--out", run, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("from step 2 ", resumed.StdErr);
        Assert.Contains("(batch 2,", resumed.StdErr);
        Assert.Contains("Finished at step 3", resumed.StdOut);
        var checkpoint = ActorTrainer.CheckpointPath(run);
        Assert.Contains("\"produced_by\"", File.ReadAllText(LearnedActor.ManifestPath(checkpoint)));
        var report = temp.File("report.json");
        var eval = Processes.Rlrig(Repo.Root, Limit, "eval", "actor", "--checkpoint", checkpoint, "--states", "2", "--g", "2", "--out", report);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains("rule-based", eval.StdOut);
        Assert.True(File.Exists(report));
        var onto = Processes.Rlrig(Repo.Root, Limit, "eval", "actor", "--checkpoint", checkpoint, "--states", "2", "--out", checkpoint);
        Assert.Equal(2, onto.ExitCode);
    }

    [Fact]
    public void A_fine_tune_on_real_states_records_them_and_eval_measures_it_on_held_out_rollouts()
    {
        var run = temp.File("run");
        var train = Processes.Rlrig(Repo.Root, Limit, "train", "actor", "--init", LearnedActor.RelativePath, "--real-prompts", "2", "--rollout-rounds", "1",
            "--real-fraction", "0.5", "--steps", "1", "--batch", "2", "--out", run);
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("2/2 prompts rolled out", train.StdErr);
        Assert.Contains("(batch 2, 1 real,", train.StdErr);
        var manifest = File.ReadAllText(LearnedActor.ManifestPath(ActorTrainer.CheckpointPath(run)));
        Assert.Contains("\"real_states\"", manifest);
        Assert.Contains("\"init_from\"", manifest);
        var report = temp.File("real.json");
        var eval = Processes.Rlrig(Repo.Root, Limit, "eval", "actor", "--checkpoint", ActorTrainer.CheckpointPath(run), "--compare", LearnedActor.RelativePath,
            "--real-prompts", "2", "--rollout-rounds", "1", "--seed", "5", "--g", "1", "--out", report);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        // The run's 2 training prompts at least, with those of the compared Actor's manifest.
        var excluded = System.Text.RegularExpressions.Regex.Match(eval.StdErr, @"\((\d+) training prompts excluded\)");
        Assert.True(excluded.Success && int.Parse(excluded.Groups[1].Value) >= 2, eval.StdErr);
        Assert.Contains("editor cannot", eval.StdOut);
        Assert.Contains("actor/actor.ckpt, greedy", eval.StdOut);
        Assert.Contains("\"NotCarriedOutRate\"", File.ReadAllText(report));
    }

    [Fact]
    public void A_missing_actor_checkpoint_is_one_line_and_exit_2()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "actor", "--checkpoint", temp.File("none.ckpt"), "--states", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rlrig eval actor: ", result.StdErr.Trim());
        Assert.Contains("does not exist", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }
}
