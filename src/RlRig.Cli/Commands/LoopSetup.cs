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
    public Option<string> Actor { get; } = new Option<string>("--actor") { Description = "The Actor: rule (the rule-based Actor), or vlm (a VLM over HTTP, RLRIG_VLM_*).", DefaultValueFactory = _ => "rule" }.Check(v => v is "rule" or RemoteLoopChoices.VlmActor, "rule, or vlm (a VLM behind RLRIG_VLM_*; a learned Actor comes with issue 14)");
    public Option<string> Editor { get; } = new Option<string>("--editor") { Description = "The Inverse Diffuser: training-free (regions redrawn by the Diffuser), or http (an images-API server, RLRIG_IMAGE_*).", DefaultValueFactory = _ => "training-free" }.Check(v => v is "training-free" or RemoteLoopChoices.HttpEditor, "training-free, or http (an images-API server behind RLRIG_IMAGE_*)");
    public Option<double> Strength { get; } = new Option<double>("--strength") { Description = "Fraction of the chain the training-free editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);

    public IEnumerable<Option> All => [Diffuser, Checker, Actor, Editor, Strength];

    public TrainingFreeEditorOptions EditorOptions(ParseResult result) => new TrainingFreeEditorOptions { Strength = result.GetValue(Strength) }.Validate();

    /// <summary>The model files the command reads, which no output may replace.</summary>
    public CommandInput[] Inputs(ParseResult result) =>
        [new(result.GetValue(Diffuser)!.ToString(), "--checkpoint"), new(result.GetValue(Checker)!.ToString(), "--checker")];

    /// <summary>The arguments that decide a run's results, with the checkpoints' hashes, for run.json.</summary>
    public Dictionary<string, string> Describe(ParseResult result) => new Dictionary<string, string>
    {
        ["diffuser_sha256"] = Sha256(result.GetValue(Diffuser)!.FullName),
        ["checker_sha256"] = Sha256(result.GetValue(Checker)!.FullName),
        ["actor"] = result.GetValue(Actor)!,
        ["editor"] = result.GetValue(Editor)!,
        ["strength"] = result.GetValue(Strength).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    }.Concat(RemoteLoopChoices.Describe(result.GetValue(Actor)!, result.GetValue(Editor)!)).ToDictionary();

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
            return new Components(diffuser, checker, world, new PipelineDiffuser(pipeline),
                RemoteLoopChoices.Actor(result.GetValue(Actor)!) ?? new RuleBasedActor(world),
                RemoteLoopChoices.Editor(result.GetValue(Editor)!) ?? new TrainingFreeEditor(pipeline, world, editorOptions));
        }
        catch
        {
            diffuser.Dispose();
            throw;
        }
    }

    public sealed record Components(DiffuserCheckpoint DiffuserModel, ShapesChecker Checker, WorldOptions World, PipelineDiffuser Diffuser, IActor Actor, IInverseDiffuser Editor) : IDisposable
    {
        public void Dispose()
        {
            DiffuserModel.Dispose();
            Checker.Dispose();
        }
    }
}
