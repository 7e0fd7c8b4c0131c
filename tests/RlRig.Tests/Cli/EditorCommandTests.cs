using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig train editor</c> as users run it.</summary>
public sealed class EditorCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("--steps", "0", "--steps must be in [1, 10000000] (got 0)")]
    [InlineData("--batch", "-1", "--batch must be in [1, 4096] (got -1)")]
    [InlineData("--seed", "-5", "--seed must be a non-negative integer (got -5)")]
    [InlineData("--checkpoint-every", "-1", "--checkpoint-every must be in [0, 10000000] (got -1)")]
    [InlineData("--threads", "-1", "--threads must be in [0, 1024] (got -1)")]
    [InlineData("--lr", "NaN", "--lr must be a finite number in (0, 1) (got NaN)")]
    [InlineData("--lr", "1.5", "--lr must be a finite number in (0, 1) (got 1.5)")]
    [InlineData("--init", "no-such.ckpt", "--init ")]
    [InlineData("--max-timestep", "-1", "--max-timestep must be in [0, 1000000] (got -1)")]
    [InlineData("--max-timestep", "1001", "--max-timestep: 1001 is beyond the schedule's 1000 timesteps")]
    [InlineData("--prediction", "Epsilon", "--source-residual: the change from the source is an x0 prediction; give --prediction Sample, or --source-residual false")]
    public void A_bad_flag_exits_2_with_one_line_naming_it_and_writes_nothing(string flag, string value, string message)
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "editor", flag, value, "--out", run);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Resume_without_a_run_is_a_clear_error()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "editor", "--out", temp.File("none"), "--resume");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rlrig train editor: ", result.StdErr.Trim());
        Assert.Contains("nothing to resume", result.StdErr);
    }
}
