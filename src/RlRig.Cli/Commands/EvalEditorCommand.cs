using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.Loop;
using RlRig.Loop.Diffusers;
using RlRig.Loop.Editors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval editor</c>: the training-free or the learned editor per operation, judged by the judge, on renders and Diffuser samples.</summary>
static class EvalEditorCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Diffuser checkpoint (the editor's model and the source of samples).", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
        var renders = new Option<int>("--renders") { Description = "Clean renders to edit (validation scenes).", DefaultValueFactory = _ => 60 }.InRange(0, 100_000);
        var samples = new Option<int>("--samples") { Description = "Diffuser samples of validation prompts to edit.", DefaultValueFactory = _ => 60 }.InRange(0, 100_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the scenes, prompts, instructions and edit noise (the evaluation set uses 1000; keep away from it).", DefaultValueFactory = _ => 2000 };
        var editor = new Option<string>("--editor") { Description = $"The editor measured: training-free (regions redrawn by the Diffuser), {LoopSetup.InpaintGrpo} (the same editor, its passes drawn with the Diffuser weights Reflection-GRPO tuned for them, --editor-checkpoint; the samples edited are still the --checkpoint Diffuser's) or learned (the trained instruction-following editor).", DefaultValueFactory = _ => "training-free" }
            .Check(v => v is "training-free" or "learned" or LoopSetup.InpaintGrpo, $"training-free, {LoopSetup.InpaintGrpo} or learned");
        var editorCheckpoint = new Option<FileInfo>("--editor-checkpoint") { Description = $"The learned editor's checkpoint (default below), or with --editor {LoopSetup.InpaintGrpo} the tuned Diffuser's (default {TrainingFreeEditor.GrpoRelativePath}).", DefaultValueFactory = _ => new FileInfo(ShapesWorldEditor.RelativePath) };
        var strength = new Option<double>("--strength") { Description = $"training-free: fraction of the chain re-run in a region (default {new TrainingFreeEditorOptions().Strength}); learned: fraction of the chain run from the source noised to that level (default {new LearnedEditorOptions().Strength}). In (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);
        var learned = new LearnedEditorOptions();
        var samplingSteps = new Option<int>("--sampling-steps") { Description = "learned: DDIM steps of the full chain.", DefaultValueFactory = _ => learned.Steps }.InRange(1, 1000);
        var guidance = new Option<double>("--guidance") { Description = "learned: text guidance scale (1 = none).", DefaultValueFactory = _ => learned.GuidanceScale }.Finite(0, 50);
        var imageGuidance = new Option<double>("--image-guidance") { Description = "learned: image guidance scale (1 = none).", DefaultValueFactory = _ => learned.ImageGuidanceScale }.Finite(0, 50);
        var clear = new Option<double>("--clear-strength") { Description = "Fraction of the chain the editor re-runs where it takes an object away, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().ClearStrength }.Finite(0, 1, minExclusive: true);
        var margin = new Option<int>("--margin") { Description = "Pixels around a box that the editor regenerates too.", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Margin }.InRange(0, 8);
        var output = new Option<FileInfo?>("--out") { Description = "Write every edit's verdict and the figures as JSON." };
        var manifest = new Option<bool>("--update-manifest") { Description = "learned: record the figures in the editor checkpoint's manifest." };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default; 1, the default, is faster on a shared machine).", DefaultValueFactory = _ => 1 }.InRange(0, 1024);
        var saveImages = new Option<DirectoryInfo?>("--images") { Description = "Also write each edit's before and after images, side by side, into this folder." };
        var command = new Command("editor", "Measure the training-free or learned editor per operation (move, recolour, resize, remove, add): the judge reads an image, an instruction is drawn, the editor carries it out, the judge reads the result.")
        {
            checkpoint, editor, editorCheckpoint, renders, samples, seed, strength, clear, margin, samplingSteps, guidance, imageGuidance, output, manifest, threads, saveImages,
        };
        // On a thread of its own, so that System.CommandLine installs its Ctrl+C handler (it does once the action returns
        // its task) and the work stops between batches with what it has written kept.
        command.SetAction((result, cancel) => Task.Run(async () =>
        {
            try
            {
                var isLearned = result.GetValue(editor) == "learned";
                var isTuned = result.GetValue(editor) == LoopSetup.InpaintGrpo;
                var editorPath = isTuned && result.GetResult(editorCheckpoint) is null or { Implicit: true }
                    ? new FileInfo(TrainingFreeEditor.GrpoRelativePath).FullName : result.GetValue(editorCheckpoint)!.FullName;
                if (isTuned && CommandFiles.ProblemWithInput(editorPath, "--editor-checkpoint") is { } missing) throw new CommandLineException(missing);
                CommandInput[] inputs = [new(result.GetValue(checkpoint)!.ToString(), "--checkpoint"), .. isLearned || isTuned ? [new CommandInput(editorPath, "--editor-checkpoint")] : Array.Empty<CommandInput>()];
                if (result.GetValue(output) is { } o) OutputPolicy.RequireFile(o.ToString(), "--out", inputs);
                if (result.GetValue(saveImages) is { } d) OutputPolicy.RequireFolder(d.ToString(), "--images", [], [], inputs);
                if (result.GetValue(manifest))
                {
                    if (!isLearned && !isTuned) throw new CommandLineException($"--update-manifest records a trained editor's figures; add --editor learned or {LoopSetup.InpaintGrpo} (the training-free editor has no checkpoint of its own)");
                    OutputPolicy.RequireFile(DiffuserCheckpoint.ManifestPath(editorPath), "--update-manifest", inputs);
                }
                var strengthGiven = result.GetResult(strength) is { Implicit: false };
                object options = isLearned
                    ? new LearnedEditorOptions
                    {
                        Steps = result.GetValue(samplingSteps), GuidanceScale = result.GetValue(guidance), ImageGuidanceScale = result.GetValue(imageGuidance),
                        Strength = strengthGiven ? result.GetValue(strength) : new LearnedEditorOptions().Strength,
                    }.Validate()
                    : new TrainingFreeEditorOptions { Strength = result.GetValue(strength), ClearStrength = result.GetValue(clear), Margin = result.GetValue(margin) }.Validate();
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                if (result.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(result.GetValue(threads));
                using var model = DiffuserCheckpoint.Load(result.GetValue(checkpoint)!.FullName);
                using var editorModel = isLearned ? DiffuserCheckpoint.Load(editorPath) : isTuned ? LoopSetup.LoadDiffuser(editorPath, "--editor-checkpoint") : null;
                var world = new WorldOptions { CanvasSize = model.Config.ImageSize };
                var pipeline = model.CreatePipeline();
                IInverseDiffuser editorUnderTest = options is LearnedEditorOptions l
                    ? new LearnedEditor(new ImageEditPipeline(editorModel!.Model), l)
                    : new TrainingFreeEditor(isTuned ? editorModel!.CreatePipeline() : pipeline, world, (TrainingFreeEditorOptions)options);
                var imagesFolder = result.GetValue(saveImages)?.FullName;
                if (imagesFolder is not null) Directory.CreateDirectory(imagesFolder);
                var evaluation = new EditorEvaluation(new ShapesJudge(world), result.GetValue(seed));
                var verdicts = new List<EditVerdict>();
                var renderImages = EditorEvaluation.Renders(world, result.GetValue(renders), result.GetValue(seed));
                verdicts.AddRange(await evaluation.RunAsync("renders", renderImages, editorUnderTest, imagesFolder, cancel));
                foreach (var i in renderImages) i.Dispose();
                Console.Error.WriteLine($"renders edited: {verdicts.Count} edits");
                var sampleImages = result.GetValue(samples) == 0 ? [] : await EditorEvaluation.Samples(new PipelineDiffuser(pipeline), world, result.GetValue(samples), result.GetValue(seed), cancel);
                verdicts.AddRange(await evaluation.RunAsync("diffuser samples", sampleImages, editorUnderTest, imagesFolder, cancel));
                foreach (var i in sampleImages) i.Dispose();
                var figures = EditorEvaluation.Summarise(verdicts);
                Console.WriteLine($"{"source",-17} {"operation",-9} {"edits",5} {"carried out",11} {"intact",7} {"no extra",8} {"success",7} {"NFE",5}");
                foreach (var f in figures)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{f.Source,-17} {f.Operation,-9} {f.Edits,5} {f.CarriedOut,11:P1} {f.Intact,7:P1} {f.NoExtra,8:P1} {f.Success,7:P1} {f.MeanNfe,5:F0}"));
                var json = new JsonSerializerOptions { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };
                if (result.GetValue(output) is { } file)
                    AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(new { editor = result.GetValue(editor), options, figures, verdicts }, json));
                if (result.GetValue(manifest))
                    Manifest.Update(editorModel!.Path, "evaluation", JsonSerializer.SerializeToNode(new
                    {
                        command = "rlrig " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                        seed = result.GetValue(seed), renders = result.GetValue(renders), samples = result.GetValue(samples), options, figures,
                    }, json)!);
                return 0;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report("rlrig eval editor", e);
            }
        }, CancellationToken.None));
        return command;
    }
}
