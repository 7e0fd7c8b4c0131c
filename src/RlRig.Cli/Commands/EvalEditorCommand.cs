using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.Loop.Diffusers;
using RlRig.Loop.Editors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval editor</c>: the training-free editor per operation, judged by the judge, on renders and Diffuser samples.</summary>
static class EvalEditorCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Diffuser checkpoint (the editor's model and the source of samples).", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
        var renders = new Option<int>("--renders") { Description = "Clean renders to edit (validation scenes).", DefaultValueFactory = _ => 60 }.InRange(0, 100_000);
        var samples = new Option<int>("--samples") { Description = "Diffuser samples of validation prompts to edit.", DefaultValueFactory = _ => 60 }.InRange(0, 100_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the scenes, prompts, instructions and edit noise (the evaluation set uses 1000; keep away from it).", DefaultValueFactory = _ => 2000 };
        var strength = new Option<double>("--strength") { Description = "Fraction of the chain the editor re-runs in a region, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Strength }.Finite(0, 1, minExclusive: true);
        var clear = new Option<double>("--clear-strength") { Description = "Fraction of the chain the editor re-runs where it takes an object away, in (0, 1].", DefaultValueFactory = _ => new TrainingFreeEditorOptions().ClearStrength }.Finite(0, 1, minExclusive: true);
        var margin = new Option<int>("--margin") { Description = "Pixels around a box that the editor regenerates too.", DefaultValueFactory = _ => new TrainingFreeEditorOptions().Margin }.InRange(0, 8);
        var output = new Option<FileInfo?>("--out") { Description = "Write every edit's verdict and the figures as JSON." };
        var saveImages = new Option<DirectoryInfo?>("--images") { Description = "Also write each edit's before and after images, side by side, into this folder." };
        var command = new Command("editor", "Measure the training-free editor per operation (move, recolour, resize, remove, add): the judge reads an image, an instruction is drawn, the editor carries it out, the judge reads the result.")
        {
            checkpoint, renders, samples, seed, strength, clear, margin, output, saveImages,
        };
        // On a thread of its own, so that System.CommandLine installs its Ctrl+C handler (it does once the action returns
        // its task) and the work stops between batches with what it has written kept.
        command.SetAction((result, cancel) => Task.Run(async () =>
        {
            try
            {
                var input = new CommandInput(result.GetValue(checkpoint)!.ToString(), "--checkpoint");
                if (result.GetValue(output) is { } o) OutputPolicy.RequireFile(o.ToString(), "--out", input);
                if (result.GetValue(saveImages) is { } d) OutputPolicy.RequireFolder(d.ToString(), "--images", [], [], input);
                var options = new TrainingFreeEditorOptions { Strength = result.GetValue(strength), ClearStrength = result.GetValue(clear), Margin = result.GetValue(margin) }.Validate();
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                using var model = DiffuserCheckpoint.Load(result.GetValue(checkpoint)!.FullName);
                var world = new WorldOptions { CanvasSize = model.Config.ImageSize };
                var pipeline = model.CreatePipeline();
                var editor = new TrainingFreeEditor(pipeline, world, options);
                var imagesFolder = result.GetValue(saveImages)?.FullName;
                if (imagesFolder is not null) Directory.CreateDirectory(imagesFolder);
                var evaluation = new EditorEvaluation(new ShapesJudge(world), result.GetValue(seed));
                var verdicts = new List<EditVerdict>();
                var renderImages = EditorEvaluation.Renders(world, result.GetValue(renders), result.GetValue(seed));
                verdicts.AddRange(await evaluation.RunAsync("renders", renderImages, editor, imagesFolder, cancel));
                foreach (var i in renderImages) i.Dispose();
                Console.Error.WriteLine($"renders edited: {verdicts.Count} edits");
                var sampleImages = result.GetValue(samples) == 0 ? [] : await EditorEvaluation.Samples(new PipelineDiffuser(pipeline), world, result.GetValue(samples), result.GetValue(seed), cancel);
                verdicts.AddRange(await evaluation.RunAsync("diffuser samples", sampleImages, editor, imagesFolder, cancel));
                foreach (var i in sampleImages) i.Dispose();
                var figures = EditorEvaluation.Summarise(verdicts);
                Console.WriteLine($"{"source",-17} {"operation",-9} {"edits",5} {"carried out",11} {"intact",7} {"no extra",8} {"success",7} {"NFE",5}");
                foreach (var f in figures)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{f.Source,-17} {f.Operation,-9} {f.Edits,5} {f.CarriedOut,11:P1} {f.Intact,7:P1} {f.NoExtra,8:P1} {f.Success,7:P1} {f.MeanNfe,5:F0}"));
                if (result.GetValue(output) is { } file)
                    AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(new { options, figures, verdicts },
                        new JsonSerializerOptions { WriteIndented = true, Converters = { new JsonStringEnumConverter() } }));
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
