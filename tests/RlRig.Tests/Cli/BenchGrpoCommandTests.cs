using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig bench actor-grpo|editor-grpo</c>'s checks, made before any model loads (the runs themselves take minutes).</summary>
public sealed class BenchGrpoCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("actor-grpo", "--actor-checkpoint")]
    [InlineData("editor-grpo", "--editor-checkpoint")]
    public void A_missing_policy_checkpoint_exits_2_naming_its_flag(string bench, string flag)
    {
        var missing = temp.File("missing.ckpt");
        var result = Processes.Rlrig(Repo.Root, Limit, "bench", bench, flag, missing, "--out", temp.File("r.json"));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal($"rlrig bench {bench}: {flag} {missing}: no such file", result.StdErr.Trim());
        Assert.False(File.Exists(temp.File("r.json")));
    }

    [Fact]
    public void Writing_the_figures_over_a_model_it_reads_is_refused()
    {
        var checker = temp.File("checker.ckpt");
        File.Copy(Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt"), checker);
        var before = File.ReadAllBytes(checker);
        var result = Processes.Rlrig(Repo.Root, Limit, "bench", "actor-grpo", "--checker", checker, "--out", checker);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("is the same file as --checker", result.StdErr);
        Assert.Equal(before, File.ReadAllBytes(checker));
    }

    [Theory]
    [InlineData("actor-grpo", "--num-generations", "1")]
    [InlineData("editor-grpo", "--flat-steps", "0")]
    public void A_bad_option_exits_2_naming_its_flag(string bench, string flag, string value)
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "bench", bench, flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith(flag, result.StdErr.Trim());
        Assert.Single(result.StdErr.Trim().Split('\n'));
    }
}
