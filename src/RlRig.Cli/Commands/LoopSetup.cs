using System.CommandLine;
using System.Security.Cryptography;
using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Loop.Checkers;
using RlRig.Loop.Diffusers;
using RlRig.Loop.Editors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary>The options that choose the loop's components, shared by <c>rlrig loop</c> and <c>rlrig eval system</c>, and the components they build.</summary>
sealed class LoopSetup
{
    public Option<FileInfo> Diffuser { get; } = new("--checkpoint") { Description = "Diffuser checkpoint (also the training-free editor's model).", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
    public Option<FileInfo> Checker { get; } = new("--checker") { Description = "Checker checkpoint.", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.CheckerCheckpoint) };
    public Option<string> Actor { get; } = new Option<string>("--actor") { Description = "The Actor: rule (the rule-based Actor) or learned (the trained policy of --actor-checkpoint, greedy).", DefaultValueFactory = _ => "rule" }.Check(v => v is "rule" or "learned", "rule or learned");
    public Option<FileInfo> ActorCheckpoint { get; } = new("--actor-checkpoint") { Description = "The learned Actor's checkpoint (read with --actor learned).", DefaultValueFactory = _ => new FileInfo(LearnedActor.RelativePath) };
    public Option<string> Editor { get; } = new Option<string>("--editor") { Description = "The Inverse Diffuser: training-free (regions redrawn by the Diffuser).", DefaultValueFactory = _ => "training-free" }.Check(v => v == "training-free", "training-free");
    public Option<double> Strength { get; } = new Option<double>("--strength") { Description = "Fraction of the chain the training-free editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);

    public IEnumerable<Option> All => [Diffuser, Checker, Actor, ActorCheckpoint, Editor, Strength];

    public TrainingFreeEditorOptions EditorOptions(ParseResult result) => new TrainingFreeEditorOptions { Strength = result.GetValue(Strength) }.Validate();

    /// <summary>The learned Actor's checkpoint, in full.</summary>
    public string ActorCheckpointPath(ParseResult result) => result.GetValue(ActorCheckpoint)!.FullName;

    /// <summary>The model files the command reads, which no output may replace.</summary>
    public CommandInput[] Inputs(ParseResult result) =>
        [new(result.GetValue(Diffuser)!.ToString(), "--checkpoint"), new(result.GetValue(Checker)!.ToString(), "--checker"), .. ActorInputs(result)];

    IEnumerable<CommandInput> ActorInputs(ParseResult result) =>
        result.GetValue(Actor) == "learned" ? [new(result.GetValue(ActorCheckpoint)!.ToString(), "--actor-checkpoint")] : [];

    /// <summary>The arguments that decide a run's results, with the checkpoints' hashes, for run.json.</summary>
    public Dictionary<string, string> Describe(ParseResult result)
    {
        var described = new Dictionary<string, string>
        {
            ["diffuser_sha256"] = Sha256(result.GetValue(Diffuser)!.FullName),
            ["checker_sha256"] = Sha256(result.GetValue(Checker)!.FullName),
            ["actor"] = result.GetValue(Actor)!,
            ["editor"] = result.GetValue(Editor)!,
            ["strength"] = result.GetValue(Strength).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (result.GetValue(Actor) == "learned") described["actor_sha256"] = Sha256(result.GetValue(ActorCheckpoint)!.FullName);
        return described;
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Loads the models. The caller disposes the result.</summary>
    public Components Load(ParseResult result)
    {
        var editorOptions = EditorOptions(result);
        var diffuser = DiffuserCheckpoint.Load(result.GetValue(Diffuser)!.FullName);
        try
        {
            var world = new WorldOptions { CanvasSize = diffuser.Config.ImageSize };
            var checker = ShapesChecker.Load(result.GetValue(Checker)!.FullName);
            var pipeline = diffuser.CreatePipeline();
            return new Components(diffuser, checker, world, new PipelineDiffuser(pipeline), LoadActor(result, world), new TrainingFreeEditor(pipeline, world, editorOptions));
        }
        catch
        {
            diffuser.Dispose();
            throw;
        }
    }

    // Greedy: on held-out states (rlrig eval actor) greedy decoding fixes the state more often than a sample at
    // temperature 1, and the loop wants the best single instruction; sampling is for GRPO's groups.
    IActor LoadActor(ParseResult result, WorldOptions world) => result.GetValue(Actor) == "learned"
        ? LearnedActor.Load(result.GetValue(ActorCheckpoint)!.FullName, world, new LearnedActorOptions { Greedy = true })
        : new RuleBasedActor(world);

    public sealed record Components(DiffuserCheckpoint DiffuserModel, ShapesChecker Checker, WorldOptions World, PipelineDiffuser Diffuser, IActor Actor, IInverseDiffuser Editor) : IDisposable
    {
        public void Dispose()
        {
            DiffuserModel.Dispose();
            Checker.Dispose();
            (Actor as IDisposable)?.Dispose();
        }
    }
}
