using RlRig.Loop.Checkers;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig train checker</c> and <c>rlrig eval checker</c> as users run them.</summary>
public sealed class CheckerCommandTests : IDisposable
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
    [InlineData("--lr", "Infinity")]
    [InlineData("--lr", "1.5")]
    [InlineData("--channels", "20")]
    public void A_bad_training_number_exits_2_naming_its_flag(string flag, string value)
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "checker", flag, value, "--out", run);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"rlrig train checker: {flag}", result.StdErr.Trim());
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void An_out_that_is_a_file_is_refused_and_left_alone()
    {
        var file = temp.File("notes.txt");
        File.WriteAllText(file, "keep me");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "checker", "--steps", "1", "--out", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is a file", result.StdErr);
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void Training_finishes_resumes_and_eval_reads_the_result()
    {
        var run = temp.File("run");
        var first = Processes.Rlrig(Repo.Root, Limit, "train", "checker", "--steps", "3", "--batch", "2", "--channels", "16", "--out", run);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Finished at step 3", first.StdOut);
        // No --batch or --channels: the run folder supplies them.
        var resumed = Processes.Rlrig(Repo.Root, Limit, "train", "checker", "--steps", "5", "--out", run, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("from step 3 ", resumed.StdErr);
        Assert.Contains("(batch 2,", resumed.StdErr);
        Assert.Contains("Finished at step 5", resumed.StdOut);
        var checkpoint = CheckerTrainer.CheckpointPath(run);
        Assert.Contains("\"produced_by\"", File.ReadAllText(ShapesChecker.ManifestPath(checkpoint)));

        var report = temp.File("report.json");
        var eval = Processes.Rlrig(Repo.Root, Limit, "eval", "checker", "--checkpoint", checkpoint, "--scenes", "3", "--prompts", "0", "--out", report);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains("strong", eval.StdOut);
        Assert.True(File.Exists(report));
        // The report may not be written over its input.
        var onto = Processes.Rlrig(Repo.Root, Limit, "eval", "checker", "--checkpoint", checkpoint, "--scenes", "3", "--prompts", "0", "--out", checkpoint);
        Assert.Equal(2, onto.ExitCode);
    }

    [Theory]
    [InlineData("--scenes", "0")]
    [InlineData("--prompts", "10")]
    [InlineData("--threads", "-2")]
    public void A_bad_eval_number_exits_2_naming_its_flag(string flag, string value)
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "checker", flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"rlrig eval checker: {flag}", result.StdErr.Trim());
    }

    [Fact]
    public void A_missing_checkpoint_is_one_line_and_exit_2()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "checker", "--checkpoint", temp.File("none.ckpt"), "--prompts", "0", "--scenes", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rlrig eval checker: checkpoint ", result.StdErr.Trim());
        Assert.Contains("does not exist", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }
}
