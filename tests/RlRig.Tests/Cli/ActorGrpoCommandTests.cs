using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig train actor-grpo</c>'s checks, made before any model loads or file is written.</summary>
public sealed class ActorGrpoCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("--num-generations", "1", "at least 2 generations")]
    [InlineData("--generation-batch-size", "10", "must be divisible by num_generations (8)")]
    [InlineData("--beta", "-1", "beta")]
    [InlineData("--lr", "0", "learning_rate")]
    [InlineData("--temperature", "0", "temperature")]
    [InlineData("--reward-weights", "1", "give 2 weights")]
    [InlineData("--steps", "0", "")]
    public void A_bad_option_exits_2_naming_its_flag_and_writes_nothing(string flag, string value, string reason)
    {
        var run = temp.File("run");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "actor-grpo", flag, value, "--out", run);
        Assert.True(result.ExitCode == 2, result.ToString());
        // Range checks of System.CommandLine start with the flag; the options' own checks with the command, then the flag.
        Assert.Matches($"^(rlrig train actor-grpo: )?{flag}", result.StdErr.Trim());
        Assert.Contains(reason, result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(run));
    }
}
