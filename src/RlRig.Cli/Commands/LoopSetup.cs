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
    public Option<string> Actor { get; } = new Option<string>("--actor") { Description = "The Actor: rule (the rule-based Actor), learned (the trained policy of --actor-checkpoint, greedy), or vlm (a VLM over HTTP, RLRIG_VLM_*).", DefaultValueFactory = _ => "rule" }.Check(v => v is "rule" or "learned" or RemoteLoopChoices.VlmActor, "rule, learned, or vlm (a VLM behind RLRIG_VLM_*)");
    public Option<FileInfo> ActorCheckpoint { get; } = new("--actor-checkpoint") { Description = "The learned Actor's checkpoint (read with --actor learned).", DefaultValueFactory = _ => new FileInfo(LearnedActor.RelativePath) };
    public Option<string> Editor { get; } = new Option<string>("--editor") { Description = "The Inverse Diffuser: training-free (regions redrawn by the Diffuser), learned (the trained instruction-following editor of --editor-checkpoint), or http (an images-API server, RLRIG_IMAGE_*).", DefaultValueFactory = _ => "training-free" }.Check(v => v is "training-free" or "learned" or RemoteLoopChoices.HttpEditor, "training-free, learned, or http (an images-API server behind RLRIG_IMAGE_*)");
    public Option<FileInfo> EditorCheckpoint { get; } = new("--editor-checkpoint") { Description = "The learned editor's checkpoint (read with --editor learned).", DefaultValueFactory = _ => new FileInfo(ShapesWorldEditor.RelativePath) };
    public Option<double> Strength { get; } = new Option<double>("--strength") { Description = "Fraction of the chain the training-free editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);

    public IEnumerable<Option> All => [Diffuser, Checker, Actor, ActorCheckpoint, Editor, EditorCheckpoint, Strength];

    bool IsLearnedActor(ParseResult result) => result.GetValue(Actor) == "learned";

    bool IsLearnedEditor(ParseResult result) => result.GetValue(Editor) == "learned";

    /// <summary>The learned Actor's checkpoint, in full.</summary>
    public string ActorCheckpointPath(ParseResult result) => result.GetValue(ActorCheckpoint)!.FullName;

    public TrainingFreeEditorOptions EditorOptions(ParseResult result) => new TrainingFreeEditorOptions { Strength = result.GetValue(Strength) }.Validate();

    /// <summary>The model files the command reads, which no output may replace.</summary>
    public CommandInput[] Inputs(ParseResult result) =>
    [
        new(result.GetValue(Diffuser)!.ToString(), "--checkpoint"), new(result.GetValue(Checker)!.ToString(), "--checker"),
        .. IsLearnedActor(result) ? [new CommandInput(result.GetValue(ActorCheckpoint)!.ToString(), "--actor-checkpoint")] : Array.Empty<CommandInput>(),
        .. IsLearnedEditor(result) ? [new CommandInput(result.GetValue(EditorCheckpoint)!.ToString(), "--editor-checkpoint")] : Array.Empty<CommandInput>(),
    ];

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
        if (IsLearnedActor(result)) described["actor_sha256"] = Sha256(result.GetValue(ActorCheckpoint)!.FullName);
        if (IsLearnedEditor(result))
        {
            // --strength is the training-free editor's; the learned editor samples with its own options.
            described.Remove("strength");
            described["editor_sha256"] = Sha256(result.GetValue(EditorCheckpoint)!.FullName);
            var o = new LearnedEditorOptions();
            described["editor_sampler"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"steps {o.Steps}, strength {o.Strength}, image guidance {o.ImageGuidanceScale}, text guidance {o.GuidanceScale}, eta {o.Eta}");
        }
        return described.Concat(RemoteLoopChoices.Describe(result.GetValue(Actor)!, result.GetValue(Editor)!)).ToDictionary();
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
        ShapesChecker? checker = null;
        DiffuserCheckpoint? editorModel = null;
        try
        {
            var world = new WorldOptions { CanvasSize = diffuser.Config.ImageSize };
            checker = ShapesChecker.Load(result.GetValue(Checker)!.FullName);
            var pipeline = diffuser.CreatePipeline();
            editorModel = IsLearnedEditor(result) ? DiffuserCheckpoint.Load(result.GetValue(EditorCheckpoint)!.FullName) : null;
            var editor = editorModel is not null ? new LearnedEditor(new ImageEditPipeline(editorModel.Model))
                : RemoteLoopChoices.Editor(result.GetValue(Editor)!) ?? new TrainingFreeEditor(pipeline, world, editorOptions);
            return new Components(diffuser, checker, world, new PipelineDiffuser(pipeline), LoadActor(result, world), editor) { EditorModel = editorModel };
        }
        catch
        {
            editorModel?.Dispose();
            checker?.Dispose();
            diffuser.Dispose();
            throw;
        }
    }

    // Greedy: on held-out states (rlrig eval actor) greedy decoding fixes the state more often than a sample at
    // temperature 1, and the loop wants the best single instruction; sampling is for GRPO's groups.
    IActor LoadActor(ParseResult result, WorldOptions world) => IsLearnedActor(result)
        ? LearnedActor.Load(result.GetValue(ActorCheckpoint)!.FullName, world, new LearnedActorOptions { Greedy = true })
        : RemoteLoopChoices.Actor(result.GetValue(Actor)!) ?? new RuleBasedActor(world);

    public sealed record Components(DiffuserCheckpoint DiffuserModel, ShapesChecker Checker, WorldOptions World, PipelineDiffuser Diffuser, IActor Actor, IInverseDiffuser Editor) : IDisposable
    {
        /// <summary>The learned editor's model, when the editor is learned.</summary>
        public DiffuserCheckpoint? EditorModel { get; init; }

        public void Dispose()
        {
            DiffuserModel.Dispose();
            Checker.Dispose();
            EditorModel?.Dispose();
            (Actor as IDisposable)?.Dispose();
        }
    }
}
