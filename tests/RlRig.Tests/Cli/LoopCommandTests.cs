using System.Text.Json.Nodes;
using RlRig.Tests.Support;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig loop</c>, <c>rlrig eval system</c> and <c>rlrig eval editor</c> as users run them: bad input is refused before any work.</summary>
public sealed class LoopCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("small red blob left of large blue square")]                                  // a word outside the world
    [InlineData("small red circle left of large blue square; large blue square left of small red circle")]  // contradicts itself
    [InlineData("small red circle left of small red circle")]
    [InlineData("")]
    public void A_prompt_outside_the_world_or_contradicting_itself_exits_1(string prompt)
    {
        var output = temp.File("trace");
        var result = Processes.Rlrig(Repo.Root, Limit, "loop", "--prompt", prompt, "--out", output);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("rlrig loop: --prompt:", result.StdErr.Trim());
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData("--rounds", "-1")]
    [InlineData("--rounds", "33")]
    [InlineData("--strength", "NaN")]
    [InlineData("--strength", "0")]
    [InlineData("--strength", "Infinity")]
    [InlineData("--actor", "magic")]
    [InlineData("--editor", "paste")]
    public void A_bad_loop_option_exits_2_naming_it(string flag, string value)
    {
        var output = temp.File("trace");
        var result = Processes.Rlrig(Repo.Root, Limit, "loop", "--prompt", "small red circle left of large blue square", flag, value, "--out", output);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(flag, result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData("--system", "magic")]
    [InlineData("--n", "0")]
    [InlineData("--rounds", "-2")]
    [InlineData("--prompts", "-1")]
    [InlineData("--seeds", "")]
    [InlineData("--seeds", "0,x")]
    [InlineData("--seeds", "1,1")]
    [InlineData("--strength", "-0.5")]
    public void A_bad_eval_system_option_exits_2_before_any_work(string flag, string value)
    {
        var output = temp.File("results");
        string[] system = flag == "--system" ? [] : ["--system", "loop"];
        var result = Processes.Rlrig(Repo.Root, Limit, ["eval", "system", .. system, flag, value, "--out", output]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(flag, result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Eval_system_never_writes_over_a_file_or_an_input()
    {
        var file = temp.File("notes.txt");
        File.WriteAllText(file, "keep me");
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "system", "--system", "diffuser", "--out", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("keep me", File.ReadAllText(file));
        var missing = Processes.Rlrig(Repo.Root, Limit, "eval", "system", "--system", "diffuser", "--eval-set", temp.File("none.json"), "--out", temp.File("r"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--eval-set", missing.StdErr);
    }

    [Fact]
    public void Eval_system_refuses_a_folder_that_holds_a_run_with_other_arguments()
    {
        var folder = temp.File("results");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "run.json"), new JsonObject { ["system"] = "loop", ["rounds"] = "7" }.ToJsonString());
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "system", "--system", "diffuser", "--prompts", "3", "--seeds", "0", "--out", folder);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("other arguments", result.StdErr);
        Assert.Contains("system: loop there, diffuser now", result.StdErr);
        Assert.False(File.Exists(Path.Combine(folder, "results.jsonl")));
    }

    [Theory]
    [InlineData("--renders", "-1")]
    [InlineData("--samples", "100001")]
    [InlineData("--strength", "1.5")]
    [InlineData("--clear-strength", "NaN")]
    [InlineData("--margin", "9")]
    public void A_bad_eval_editor_option_exits_2(string flag, string value)
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "editor", flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(flag, result.StdErr);
    }
}
