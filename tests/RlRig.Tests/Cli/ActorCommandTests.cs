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
    public void A_bad_training_flag_exits_2_naming_it_in_one_line(string flag, string value)
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "actor", flag, value, "--out", run);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"rlrig train actor: {flag}", result.StdErr.Trim());
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(run));
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
    public void A_missing_actor_checkpoint_is_one_line_and_exit_2()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "actor", "--checkpoint", temp.File("none.ckpt"), "--states", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rlrig eval actor: ", result.StdErr.Trim());
        Assert.Contains("does not exist", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }
}
