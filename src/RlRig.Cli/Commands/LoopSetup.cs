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
    /// <param name="diffuserFlag">The Diffuser's flag: --checkpoint, or another name where the command's --checkpoint is its own model's (<c>eval actor</c>).</param>
    public LoopSetup(string diffuserFlag = "--checkpoint") =>
        Diffuser = new(diffuserFlag) { Description = "Diffuser checkpoint (also the training-free editor's model).", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };

    public Option<FileInfo> Diffuser { get; }
    public Option<FileInfo> Checker { get; } = new("--checker") { Description = "Checker checkpoint.", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.CheckerCheckpoint) };
    /// <summary>The choices of --actor and --editor that read a trained checkpoint: the supervised one, or the Reflection-GRPO one.</summary>
    public const string Learned = "learned", Grpo = "grpo";

    /// <summary>The choices of a loop whose command has no --actor or --editor (<see cref="RuleLoop"/>).</summary>
    public const string Rule = "rule", TrainingFree = "training-free";

    /// <summary>The --editor choice of the training-free editor whose passes use Diffuser weights tuned by Reflection-GRPO (<c>train editor-grpo --chain inpaint</c>).</summary>
    public const string InpaintGrpo = "inpaint-grpo";

    public Option<string> Actor { get; } = new Option<string>("--actor") { Description = $"The Actor: rule (the rule-based Actor), learned (the supervised policy of --actor-checkpoint, greedy), grpo (the same model trained by Reflection-GRPO; --actor-checkpoint defaults to {LearnedActor.GrpoRelativePath}), or vlm (a VLM over HTTP, RLRIG_VLM_*).", DefaultValueFactory = _ => Rule }.Check(v => v is Rule or Learned or Grpo or RemoteLoopChoices.VlmActor, "rule, learned, grpo, or vlm (a VLM behind RLRIG_VLM_*)");
    public Option<FileInfo> ActorCheckpoint { get; } = new("--actor-checkpoint") { Description = $"The trained Actor's checkpoint, read with --actor learned (default below) or grpo (default {LearnedActor.GrpoRelativePath}).", DefaultValueFactory = _ => new FileInfo(LearnedActor.RelativePath) };
    public Option<string> Editor { get; } = new Option<string>("--editor") { Description = $"The Inverse Diffuser: training-free (regions redrawn by the Diffuser), inpaint-grpo (the same editor, its passes drawn with Diffuser weights Reflection-GRPO tuned for them; --editor-checkpoint defaults to {TrainingFreeEditor.GrpoRelativePath}; the first image is still the --checkpoint Diffuser's), learned (the supervised instruction-following editor of --editor-checkpoint), grpo (the same model trained by Reflection-GRPO; --editor-checkpoint defaults to {ShapesWorldEditor.GrpoRelativePath}), or http (an images-API server, RLRIG_IMAGE_*).", DefaultValueFactory = _ => TrainingFree }.Check(v => v is TrainingFree or InpaintGrpo or Learned or Grpo or RemoteLoopChoices.HttpEditor, "training-free, inpaint-grpo, learned, grpo, or http (an images-API server behind RLRIG_IMAGE_*)");
    public Option<FileInfo> EditorCheckpoint { get; } = new("--editor-checkpoint") { Description = $"The trained editor's checkpoint, read with --editor learned (default below), grpo (default {ShapesWorldEditor.GrpoRelativePath}) or inpaint-grpo (a Diffuser checkpoint, default {TrainingFreeEditor.GrpoRelativePath}).", DefaultValueFactory = _ => new FileInfo(ShapesWorldEditor.RelativePath) };
    public Option<double> Strength { get; } = new Option<double>("--strength") { Description = "Fraction of the chain the training-free editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);

    public IEnumerable<Option> All => [Diffuser, Checker, Actor, ActorCheckpoint, Editor, EditorCheckpoint, Strength];

    /// <summary>The editor when --editor is not given, where it depends on another flag (<c>train editor-grpo --chain</c>); null: --editor's default.</summary>
    public Func<ParseResult, string>? ImplicitEditor { get; set; }

    /// <summary>
    /// The flags of a loop whose Actor and editor the command fixes (the rule-based Actor and the training-free editor,
    /// <see cref="Actor"/>'s and <see cref="Editor"/>'s defaults): the rollouts that give the learned Actor real states.
    /// </summary>
    public IEnumerable<Option> RuleLoop => [Diffuser, Checker, Strength];

    // A command that does not offer --actor or --editor (RuleLoop) gets null for them: its loop is the rule-based one.
    string ActorChoice(ParseResult result) => result.GetValue(Actor) ?? Rule;

    string EditorChoice(ParseResult result) => ImplicitEditor is { } implicitChoice && result.GetResult(Editor) is null or { Implicit: true }
        ? implicitChoice(result) : result.GetValue(Editor) ?? TrainingFree;

    bool ReadsActorCheckpoint(ParseResult result) => ActorChoice(result) is Learned or Grpo;

    bool ReadsEditorCheckpoint(ParseResult result) => EditorChoice(result) is Learned or Grpo or InpaintGrpo;

    /// <summary>The trained Actor's checkpoint, in full: --actor-checkpoint, or the default of the --actor choice.</summary>
    public string ActorCheckpointPath(ParseResult result) => CheckpointPath(result, ActorCheckpoint, ActorChoice(result) == Grpo ? LearnedActor.GrpoRelativePath : null);

    /// <summary>The trained editor's checkpoint, in full: --editor-checkpoint, or the default of the --editor choice.</summary>
    public string EditorCheckpointPath(ParseResult result) => CheckpointPath(result, EditorCheckpoint, EditorChoice(result) switch
    {
        Grpo => ShapesWorldEditor.GrpoRelativePath,
        InpaintGrpo => TrainingFreeEditor.GrpoRelativePath,
        _ => null,
    });

    // The GRPO choice reads the same model classes as the learned one, from its own default file unless the flag is given.
    static string CheckpointPath(ParseResult result, Option<FileInfo> option, string? grpoDefault) =>
        grpoDefault is not null && result.GetResult(option) is null or { Implicit: true } ? new FileInfo(grpoDefault).FullName : result.GetValue(option)!.FullName;

    /// <summary>
    /// Refuses, in one line naming its flag, a model file the command would read that does not exist, before any model
    /// loads; for a trained checkpoint the line says how to make one. <paramref name="actor"/> and <paramref name="editor"/>:
    /// the command reads that checkpoint whatever --actor or --editor choose (a trainer starts from it).
    /// </summary>
    /// <exception cref="CommandLineException">A file is missing.</exception>
    public void RequireFiles(ParseResult result, bool actor = false, bool editor = false)
    {
        static void Require(string path, string flag, string? howToMake = null)
        {
            if (CommandFiles.ProblemWithInput(path, flag) is { } problem) throw new CommandLineException(problem + howToMake);
        }
        Require(result.GetValue(Diffuser)!.FullName, Diffuser.Name);
        Require(result.GetValue(Checker)!.FullName, "--checker");
        if (actor || ReadsActorCheckpoint(result))
            Require(ActorCheckpointPath(result), "--actor-checkpoint", HowToMake("actor", ActorChoice(result) == Grpo, "--actor-checkpoint", LearnedActor.GrpoRelativePath));
        if (editor || ReadsEditorCheckpoint(result))
            Require(EditorCheckpointPath(result), "--editor-checkpoint", EditorChoice(result) == InpaintGrpo
                ? HowToMake("editor", true, "--editor-checkpoint", TrainingFreeEditor.GrpoRelativePath, " --chain inpaint")
                : HowToMake("editor", EditorChoice(result) == Grpo, "--editor-checkpoint", ShapesWorldEditor.GrpoRelativePath));
    }

    static string HowToMake(string model, bool grpo, string flag, string grpoDefault, string grpoFlags = "")
    {
        var file = Path.GetFileName(grpoDefault);
        return grpo
            ? $"; make it with `rlrig train {model}-grpo{grpoFlags} --out DIR`, then copy DIR/{file} and its manifest to {Path.GetDirectoryName(grpoDefault)}/ or give {flag} DIR/{file}"
            : $"; make it with `rlrig train {model} --out DIR` and give {flag} DIR/{file}";
    }

    public TrainingFreeEditorOptions EditorOptions(ParseResult result) => new TrainingFreeEditorOptions { Strength = result.GetValue(Strength) }.Validate();

    /// <summary>The model files the command reads, which no output may replace.</summary>
    public CommandInput[] Inputs(ParseResult result) =>
    [
        new(result.GetValue(Diffuser)!.ToString(), Diffuser.Name), new(result.GetValue(Checker)!.ToString(), "--checker"),
        .. ReadsActorCheckpoint(result) ? [new CommandInput(ActorCheckpointPath(result), "--actor-checkpoint")] : Array.Empty<CommandInput>(),
        .. ReadsEditorCheckpoint(result) ? [new CommandInput(EditorCheckpointPath(result), "--editor-checkpoint")] : Array.Empty<CommandInput>(),
    ];

    /// <summary>The arguments that decide a run's results, with the checkpoints' hashes, for run.json.</summary>
    public Dictionary<string, string> Describe(ParseResult result)
    {
        var described = new Dictionary<string, string>
        {
            ["diffuser_sha256"] = Sha256(result.GetValue(Diffuser)!.FullName),
            ["checker_sha256"] = Sha256(result.GetValue(Checker)!.FullName),
            ["actor"] = ActorChoice(result),
            ["editor"] = EditorChoice(result),
            ["strength"] = result.GetValue(Strength).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (ReadsActorCheckpoint(result)) described["actor_sha256"] = Sha256(ActorCheckpointPath(result));
        if (EditorChoice(result) == InpaintGrpo) described["editor_sha256"] = Sha256(EditorCheckpointPath(result));
        else if (ReadsEditorCheckpoint(result))
        {
            // --strength is the training-free editor's; the learned editor samples with its own options.
            described.Remove("strength");
            described["editor_sha256"] = Sha256(EditorCheckpointPath(result));
            var o = new LearnedEditorOptions();
            described["editor_sampler"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"steps {o.Steps}, strength {o.Strength}, image guidance {o.ImageGuidanceScale}, text guidance {o.GuidanceScale}, eta {o.Eta}");
        }
        return described.Concat(RemoteLoopChoices.Describe(ActorChoice(result), EditorChoice(result))).ToDictionary();
    }

    /// <summary>A file's SHA-256, lower-case hex, as manifests record it.</summary>
    internal static string Sha256(string path)
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
            var inpaint = EditorChoice(result) == InpaintGrpo;
            editorModel = !ReadsEditorCheckpoint(result) ? null
                : inpaint ? LoadDiffuser(EditorCheckpointPath(result), "--editor-checkpoint") : DiffuserCheckpoint.Load(EditorCheckpointPath(result));
            IInverseDiffuser editor = inpaint ? new TrainingFreeEditor(editorModel!.CreatePipeline(), world, editorOptions)
                : editorModel is not null ? new LearnedEditor(new ImageEditPipeline(editorModel.Model))
                : RemoteLoopChoices.Editor(EditorChoice(result)) ?? new TrainingFreeEditor(pipeline, world, editorOptions);
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

    /// <summary>
    /// Loads a Diffuser checkpoint where a Diffuser is needed (the training-free editor's model); an editor checkpoint,
    /// which loads but reads a source image the Diffuser's pipeline does not give it, is refused in one line naming <paramref name="flag"/>.
    /// </summary>
    /// <exception cref="CommandLineException">The checkpoint is an editor's.</exception>
    public static DiffuserCheckpoint LoadDiffuser(string path, string flag)
    {
        var model = DiffuserCheckpoint.Load(path);
        if (model.Config.ConditionChannels == 0) return model;
        model.Dispose();
        throw new CommandLineException($"{flag} {path}: is an editor (it reads a source image), not a Diffuser; give a Diffuser checkpoint such as {TrainingFreeEditor.GrpoRelativePath}");
    }

    // Greedy: on held-out states (rlrig eval actor) greedy decoding fixes the state more often than a sample at
    // temperature 1, and the loop wants the best single instruction; sampling is for GRPO's groups.
    IActor LoadActor(ParseResult result, WorldOptions world) => ReadsActorCheckpoint(result)
        ? LearnedActor.Load(ActorCheckpointPath(result), world, new LearnedActorOptions { Greedy = true })
        : RemoteLoopChoices.Actor(ActorChoice(result)) ?? new RuleBasedActor(world);

    public sealed record Components(DiffuserCheckpoint DiffuserModel, ShapesChecker Checker, WorldOptions World, PipelineDiffuser Diffuser, IActor Actor, IInverseDiffuser Editor) : IDisposable
    {
        /// <summary>The editor's own model, when it has one: the learned editor's, or the tuned Diffuser of inpaint-grpo.</summary>
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
