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
    public Option<string> Actor { get; } = new Option<string>("--actor") { Description = "The Actor: rule (the rule-based Actor).", DefaultValueFactory = _ => "rule" }.Check(v => v == "rule", "rule (a learned Actor comes with issue 14)");
    public Option<string> Editor { get; } = new Option<string>("--editor") { Description = "The Inverse Diffuser: training-free (regions redrawn by the Diffuser) or learned (the trained instruction-following editor).", DefaultValueFactory = _ => "training-free" }.Check(v => v is "training-free" or "learned", "training-free or learned");
    public Option<FileInfo> EditorCheckpoint { get; } = new("--editor-checkpoint") { Description = "The learned editor's checkpoint (with --editor learned).", DefaultValueFactory = _ => new FileInfo(ShapesWorldEditor.RelativePath) };
    public Option<double> Strength { get; } = new Option<double>("--strength") { Description = "Fraction of the chain the training-free editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);

    public IEnumerable<Option> All => [Diffuser, Checker, Actor, Editor, EditorCheckpoint, Strength];

    bool IsLearnedEditor(ParseResult result) => result.GetValue(Editor) == "learned";

    public TrainingFreeEditorOptions EditorOptions(ParseResult result) => new TrainingFreeEditorOptions { Strength = result.GetValue(Strength) }.Validate();

    /// <summary>The model files the command reads, which no output may replace.</summary>
    public CommandInput[] Inputs(ParseResult result) =>
        [new(result.GetValue(Diffuser)!.ToString(), "--checkpoint"), new(result.GetValue(Checker)!.ToString(), "--checker"),
            .. IsLearnedEditor(result) ? [new CommandInput(result.GetValue(EditorCheckpoint)!.ToString(), "--editor-checkpoint")] : Array.Empty<CommandInput>()];

    /// <summary>The arguments that decide a run's results, with the checkpoints' hashes, for run.json.</summary>
    public Dictionary<string, string> Describe(ParseResult result)
    {
        var described = DescribeComponents(result);
        if (!IsLearnedEditor(result)) return described;
        // --strength is the training-free editor's; the learned editor samples with its own options.
        described.Remove("strength");
        described["editor_sha256"] = Sha256(result.GetValue(EditorCheckpoint)!.FullName);
        var o = new LearnedEditorOptions();
        described["editor_sampler"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"steps {o.Steps}, strength {o.Strength}, image guidance {o.ImageGuidanceScale}, text guidance {o.GuidanceScale}, eta {o.Eta}");
        return described;
    }

    Dictionary<string, string> DescribeComponents(ParseResult result) => new()
    {
        ["diffuser_sha256"] = Sha256(result.GetValue(Diffuser)!.FullName),
        ["checker_sha256"] = Sha256(result.GetValue(Checker)!.FullName),
        ["actor"] = result.GetValue(Actor)!,
        ["editor"] = result.GetValue(Editor)!,
        ["strength"] = result.GetValue(Strength).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };

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
            var editorModel = IsLearnedEditor(result) ? DiffuserCheckpoint.Load(result.GetValue(EditorCheckpoint)!.FullName) : null;
            IInverseDiffuser editor = editorModel is null ? new TrainingFreeEditor(pipeline, world, editorOptions) : new LearnedEditor(new ImageEditPipeline(editorModel.Model));
            return new Components(diffuser, checker, world, new PipelineDiffuser(pipeline), new RuleBasedActor(world), editor) { EditorModel = editorModel };
        }
        catch
        {
            diffuser.Dispose();
            throw;
        }
    }

    public sealed record Components(DiffuserCheckpoint DiffuserModel, ShapesChecker Checker, WorldOptions World, PipelineDiffuser Diffuser, IActor Actor, IInverseDiffuser Editor) : IDisposable
    {
        /// <summary>The learned editor's model, when the editor is learned.</summary>
        public DiffuserCheckpoint? EditorModel { get; init; }

        public void Dispose()
        {
            DiffuserModel.Dispose();
            Checker.Dispose();
            EditorModel?.Dispose();
        }
    }
}
