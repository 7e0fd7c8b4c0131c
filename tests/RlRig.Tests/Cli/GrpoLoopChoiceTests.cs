using System.CommandLine;
using System.Security.Cryptography;
using RlRig.Cli.Commands;
using RlRig.Loop.Actors;
using RlRig.Loop.Editors;
using RlRig.Loop.Evaluation;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Cli;

/// <summary>
/// <c>--actor grpo</c> and <c>--editor grpo</c> in <c>rlrig loop</c> and <c>rlrig eval system</c>: the learned models'
/// classes read from the Reflection-GRPO checkpoints, recorded in run.json by their hash, refused in one line when missing.
/// </summary>
public sealed class GrpoLoopChoiceTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    static readonly string[] Committed = ["--checkpoint", Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt"), "--checker", Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt")];

    static (LoopSetup Setup, ParseResult Result) Parse(params string[] args)
    {
        var setup = new LoopSetup();
        var command = new Command("loop");
        foreach (var option in setup.All) command.Options.Add(option);
        var result = command.Parse([.. Committed, .. args]);
        Assert.Empty(result.Errors);
        return (setup, result);
    }

    static Dictionary<string, string> Describe(params string[] args)
    {
        var (setup, result) = Parse(args);
        return setup.Describe(result);
    }

    string FileWith(string name, string text)
    {
        var path = temp.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Grpo_reads_its_own_default_checkpoint_unless_the_flag_names_one()
    {
        var (setup, grpo) = Parse("--actor", "grpo", "--editor", "grpo");
        Assert.Equal(new FileInfo(LearnedActor.GrpoRelativePath).FullName, setup.ActorCheckpointPath(grpo));
        Assert.Equal(new FileInfo(ShapesWorldEditor.GrpoRelativePath).FullName, setup.EditorCheckpointPath(grpo));
        var (learnedSetup, learned) = Parse("--actor", "learned", "--editor", "learned");
        Assert.Equal(new FileInfo(LearnedActor.RelativePath).FullName, learnedSetup.ActorCheckpointPath(learned));
        Assert.Equal(new FileInfo(ShapesWorldEditor.RelativePath).FullName, learnedSetup.EditorCheckpointPath(learned));
        var named = temp.File("mine.ckpt");
        var (givenSetup, given) = Parse("--actor", "grpo", "--actor-checkpoint", named, "--editor", "grpo", "--editor-checkpoint", named);
        Assert.Equal(named, givenSetup.ActorCheckpointPath(given));
        Assert.Equal(named, givenSetup.EditorCheckpointPath(given));
    }

    [Theory]
    [InlineData("--actor", "--actor-checkpoint", "rlrig train actor-grpo --out DIR")]
    [InlineData("--editor", "--editor-checkpoint", "rlrig train editor-grpo --out DIR")]
    public void A_missing_grpo_checkpoint_names_its_flag_and_how_to_make_it(string choice, string flag, string how)
    {
        var (setup, result) = Parse(choice, "grpo", flag, temp.File("none.ckpt"));
        var e = Assert.Throws<CommandLineException>(() => setup.RequireFiles(result));
        Assert.StartsWith($"{flag} {temp.File("none.ckpt")}: no such file; make it with `{how}`", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Run_json_records_the_choice_and_the_checkpoints_hash_so_a_resume_with_another_checkpoint_is_refused()
    {
        string one = FileWith("one.ckpt", "one"), two = FileWith("two.ckpt", "two");
        var first = Describe("--actor", "grpo", "--actor-checkpoint", one, "--editor", "grpo", "--editor-checkpoint", one);
        Assert.Equal("grpo", first["actor"]);
        Assert.Equal("grpo", first["editor"]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(one)));
        Assert.Equal(hash, first["actor_sha256"]);
        Assert.Equal(hash, first["editor_sha256"]);
        Assert.Contains("editor_sampler", first.Keys);
        Assert.DoesNotContain("strength", first.Keys);   // the training-free editor's, not read

        var folder = temp.File("results");
        SystemEvaluation.Prepare(folder, first);
        SystemEvaluation.Prepare(folder, first);   // the same arguments resume
        var other = Assert.Throws<ArgumentException>(() => SystemEvaluation.Prepare(folder, Describe("--actor", "grpo", "--actor-checkpoint", two, "--editor", "grpo", "--editor-checkpoint", one)));
        Assert.Contains("actor_sha256: " + hash, other.Message);
        var supervised = Assert.Throws<ArgumentException>(() => SystemEvaluation.Prepare(folder, Describe("--actor", "learned", "--actor-checkpoint", one, "--editor", "grpo", "--editor-checkpoint", one)));
        Assert.Contains("actor: grpo there, learned now", supervised.Message);
    }

    [Fact]
    public void Eval_system_with_a_missing_grpo_checkpoint_is_one_line_exit_2_before_any_work()
    {
        var output = temp.File("results");
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "system", "--system", "loop", "--actor", "grpo", "--actor-checkpoint", temp.File("none.ckpt"), "--out", output);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("rlrig eval system: --actor-checkpoint ", result.StdErr.Trim());
        Assert.Contains("rlrig train actor-grpo --out DIR", result.StdErr);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Grpo_loads_the_learned_models_classes_from_the_grpo_checkpoints()
    {
        var actor = temp.File("actor.ckpt");
        TorchSharp.torch.random.manual_seed(1);
        using (var net = new ActorNet(new ActorConfig { Dim = 32, Layers = 1, Heads = 2 })) LearnedActor.Save(actor, net, 0);
        var editor = EditorGrpoCommandTests.TinyEditorCheckpoint(temp.File("editor.ckpt"));
        var (setup, result) = Parse("--actor", "grpo", "--actor-checkpoint", actor, "--editor", "grpo", "--editor-checkpoint", editor);
        setup.RequireFiles(result);
        using var parts = setup.Load(result);
        var loadedActor = Assert.IsType<LearnedActor>(parts.Actor);
        Assert.Equal(actor, loadedActor.Path);
        Assert.True(loadedActor.Options.Greedy);   // as --actor learned: the loop wants the best single instruction
        var loadedEditor = Assert.IsType<LearnedEditor>(parts.Editor);
        Assert.Equal(editor, parts.EditorModel!.Path);
        Assert.Same(parts.EditorModel.Model, loadedEditor.Pipeline.Model);
    }
}
