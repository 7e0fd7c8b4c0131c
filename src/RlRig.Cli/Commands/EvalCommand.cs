using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.World;
using SixLabors.ImageSharp;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval diffuser</c>: the Diffuser's quality on the fixed evaluation set, measured by the judge.</summary>
public static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate a model.") { Diffuser() };

    static Command Diffuser()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Diffuser checkpoint.", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated sampling seeds.", DefaultValueFactory = _ => "0,1,2" };
        var steps = new Option<int>("--sampling-steps") { Description = "DDIM steps.", DefaultValueFactory = _ => ShapesWorldDiffuser.SamplingSteps };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale.", DefaultValueFactory = _ => ShapesWorldDiffuser.GuidanceScale };
        var eta = new Option<double>("--eta") { Description = "DDIM eta: 0 deterministic, 1 DDPM's ancestral noise.", DefaultValueFactory = _ => ShapesWorldDiffuser.Eta };
        var limit = new Option<int>("--prompts") { Description = "Use only the first N prompts (0 = all).", DefaultValueFactory = _ => 0 };
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var output = new Option<FileInfo?>("--out") { Description = "Write the full report (every image's verdict) as JSON." };
        var manifest = new Option<bool>("--update-manifest") { Description = "Record the figures in the checkpoint's manifest." };
        var legacy = new Option<bool>("--legacy-judge") { Description = "Read the images with the judge as it was before it read ragged edges (JudgeOptions.Legacy), to compare." };
        var images = new Option<DirectoryInfo?>("--save-images") { Description = "Also write every generated image here as a PNG named like its verdict (eval-NNNN-sS.png)." };
        var command = new Command("diffuser", "Generate every evaluation prompt with each seed, read the images with the judge, and report object and relation accuracy, SG-IoU, Entity-IoU and Relation-IoU.")
        {
            checkpoint, seeds, steps, guidance, eta, limit, evalSet, output, manifest, legacy, images,
        };
        command.SetAction(result =>
        {
            try
            {
                if (result.GetValue(manifest) && result.GetValue(legacy))
                    throw new ArgumentException("--update-manifest records the current judge's figures; drop --legacy-judge");
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                var seedList = result.GetValue(seeds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--seeds: '{s}' is not an integer")).ToList();
                var prompts = EvaluationSet.Read(result.GetValue(evalSet)!.FullName);
                if (result.GetValue(limit) > 0) prompts = prompts.Take(result.GetValue(limit)).ToList();
                using var model = DiffuserCheckpoint.Load(result.GetValue(checkpoint)!.FullName);
                var judge = new ShapesJudge(new WorldOptions { CanvasSize = model.Config.ImageSize }, result.GetValue(legacy) ? JudgeOptions.Legacy : null);
                var imageFolder = result.GetValue(images)?.FullName;
                if (imageFolder is not null) Directory.CreateDirectory(imageFolder);
                var report = DiffuserEvaluation.Evaluate(model.CreatePipeline(), prompts, seedList, judge, result.GetValue(steps), result.GetValue(guidance),
                    result.GetValue(eta), progress: new Progress<int>(n => Console.Error.Write($"\r{n}/{prompts.Count * seedList.Count} images judged")),
                    onImage: imageFolder is null ? null : (verdict, hwc) =>
                    {
                        using var image = ShapeRenderer.ToImage(hwc, model.Config.ImageSize);
                        image.SaveAsPng(Path.Combine(imageFolder, $"{verdict.ImgId}-s{verdict.Seed}.png"));
                    });
                Console.Error.WriteLine();
                Print(report);
                if (result.GetValue(output) is { } file)
                    AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
                if (result.GetValue(manifest))
                    Manifest.Update(model.Path, "evaluation", JsonSerializer.SerializeToNode(report with { Images = [] })!.AsObject());
                return 0;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report("rlrig eval diffuser", e);
            }
        });
        return command;
    }

    static void Print(DiffuserQualityReport report)
    {
        Console.WriteLine($"{"relations",-10} {"images",6} {"objects",8} {"sizes",7} {"relations",9} {"placement",9} {"perfect",8} {"extra/img",9} {"SG-IoU",7} {"Ent-IoU",7} {"Rel-IoU",7}");
        void Row(string name, QualityFigures f) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-10} {f.Images,6} {f.ObjectAccuracy,8:P1} {f.SizeAccuracy,7:P1} {f.RelationAccuracy,9:P1} {f.PlacementAccuracy,9:P1} {f.PerfectImages,8:P1} {f.ExtraObjectsPerImage,9:F2} {f.SgIou,7:F3} {f.EntityIou,7:F3} {f.RelationIou,7:F3}"));
        foreach (var (count, figures) in report.ByRelationCount) Row(count.ToString(CultureInfo.InvariantCulture), figures);
        Row("all", report.Overall);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Relation accuracy of random placement (chance; compare with 'placement', the relations whose objects were drawn): {report.ChanceRelationAccuracy:P1}"));
    }
}

/// <summary>Where the committed shapes-world assets live, relative to the repository root.</summary>
public static class ShapesWorldAssets
{
    public const string DiffuserCheckpoint = "data/shapes-world/diffuser/diffuser.ckpt";
}

/// <summary>Adds facts (how a checkpoint was made, how good it is) to a checkpoint's manifest, atomically.</summary>
public static class Manifest
{
    public static void Update(string checkpointPath, string key, JsonNode value)
    {
        var path = DiffuserCheckpoint.ManifestPath(checkpointPath);
        var manifest = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : new JsonObject();
        manifest[key] = value;
        // Relaxed escaping: the manifest is read by people, and the default encoder writes an apostrophe as \u0027.
        AtomicFile.WriteAllText(path, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
