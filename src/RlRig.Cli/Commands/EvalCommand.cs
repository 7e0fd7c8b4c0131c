using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.Loop.Checkers;
using RlRig.World;
using SixLabors.ImageSharp;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval diffuser</c>: the Diffuser's quality on the fixed evaluation set, measured by the judge.</summary>
public static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate a model.") { Diffuser(), Checker(), EvalActorCommand.Create(), EvalEditorCommand.Create(), EvalSystemCommand.Create() };

    static Command Diffuser()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Diffuser checkpoint.", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated sampling seeds.", DefaultValueFactory = _ => "0,1,2" }
            .Check(s => ParseSeeds(s) is not null, "a comma-separated list of one or more integers", s => $"'{s}'");
        var steps = new Option<int>("--sampling-steps") { Description = "DDIM steps.", DefaultValueFactory = _ => ShapesWorldDiffuser.SamplingSteps }.InRange(1, 1000);
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale.", DefaultValueFactory = _ => ShapesWorldDiffuser.GuidanceScale }.Finite(min: 0);
        var eta = new Option<double>("--eta") { Description = "DDIM eta: 0 deterministic, 1 DDPM's ancestral noise.", DefaultValueFactory = _ => ShapesWorldDiffuser.Eta }.Finite(0, 1);
        var limit = new Option<int>("--prompts") { Description = "Use only the first N prompts (0 = all).", DefaultValueFactory = _ => 0 }.AtLeast(0);
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
                var checkpointPath = result.GetValue(checkpoint)!.FullName;
                var evalSetPath = result.GetValue(evalSet)!.FullName;
                // Everything that can be refused is refused here, before minutes of sampling: outputs, inputs, the manifest.
                var inputs = new[]
                {
                    new CommandInput(checkpointPath, "--checkpoint"),
                    new CommandInput(DiffuserCheckpoint.ManifestPath(checkpointPath), "the manifest of --checkpoint"),
                    new CommandInput(evalSetPath, "--eval-set"),
                };
                if (result.GetValue(output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out", inputs);
                if (result.GetValue(manifest)) OutputPolicy.RequireFile(DiffuserCheckpoint.ManifestPath(checkpointPath), "--update-manifest", inputs[0], inputs[2]);
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                var seedList = ParseSeeds(result.GetValue(seeds)!)!;
                if (CommandFiles.ProblemWithInput(evalSetPath, "--eval-set") is { } missing) throw new CommandLineException(missing);
                var prompts = EvaluationSet.Read(evalSetPath);
                if (result.GetValue(limit) > 0) prompts = prompts.Take(result.GetValue(limit)).ToList();
                using var model = DiffuserCheckpoint.Load(checkpointPath);
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

    // Null unless every comma-separated entry is an integer and there is at least one.
    static List<int>? ParseSeeds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var seeds = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed)) return null;
            seeds.Add(seed);
        }
        return seeds.Count > 0 ? seeds : null;
    }

    static Command Checker()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Checker checkpoint.", DefaultValueFactory = _ => new FileInfo(ShapesChecker.RelativePath) };
        var scenes = new Option<int>("--scenes") { Description = "Fresh rendered scenes per degradation level.", DefaultValueFactory = _ => 600 };
        var renderSeed = new Option<int>("--render-seed") { Description = "Seed of the rendered scenes (training draws its own; keep it away from 0).", DefaultValueFactory = _ => 50_000 };
        var diffuser = new Option<FileInfo>("--diffuser") { Description = "Diffuser checkpoint whose samples are read by both the Checker and the judge.", DefaultValueFactory = _ => new FileInfo(ShapesWorldAssets.DiffuserCheckpoint) };
        var prompts = new Option<int>("--prompts") { Description = "Validation prompts for the Diffuser (a multiple of 3; never the evaluation set; 0 skips the agreement).", DefaultValueFactory = _ => 300 };
        var promptSeed = new Option<int>("--prompt-seed") { Description = "Seed of the validation prompts (rlrig world eval-set --seed).", DefaultValueFactory = _ => 2000 };
        var samplingSeed = new Option<int>("--sampling-seed") { Description = "Seed of the Diffuser's noise.", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the full report (figures and every image where the two disagree) as JSON." };
        var manifest = new Option<bool>("--update-manifest") { Description = "Record the figures in the checkpoint's manifest." };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default; 1, the default, is much faster on a shared machine).", DefaultValueFactory = _ => 1 };
        var sheet = new Option<FileInfo?>("--sheet") { Description = "Write the first 32 Diffuser samples on which the Checker and the judge disagree as one PNG (4x, 8 to a row, in the report's order)." };
        var command = new Command("checker", "Measure the Checker: object precision/recall, relation accuracy and box error against the ground truth of fresh renders (clean and degraded), and its agreement with the judge on Diffuser samples of validation prompts.")
        {
            checkpoint, scenes, renderSeed, diffuser, prompts, promptSeed, samplingSeed, output, manifest, threads, sheet,
        };
        command.SetAction(result =>
        {
            const string name = "rlrig eval checker";
            var ckpt = result.GetValue(checkpoint)!.FullName;
            var problem = result.GetValue(scenes) is < 1 or > 1_000_000 ? "--scenes: use 1 to 1000000"
                : result.GetValue(prompts) < 0 || result.GetValue(prompts) % 3 != 0 || result.GetValue(prompts) > 30_000 ? "--prompts: use 0 or a multiple of 3 up to 30000"
                : result.GetValue(renderSeed) < 0 ? "--render-seed: use a non-negative integer"
                : result.GetValue(promptSeed) < 0 ? "--prompt-seed: use a non-negative integer"
                : result.GetValue(samplingSeed) < 0 ? "--sampling-seed: use a non-negative integer"
                : result.GetValue(threads) is < 0 or > 1024 ? "--threads: use 0 (libtorch's default) to 1024"
                : result.GetValue(output) is { } o && (Directory.Exists(o.FullName) || o.FullName == ckpt || o.FullName == ShapesChecker.ManifestPath(ckpt) || o.FullName == result.GetValue(diffuser)!.FullName)
                    ? $"--out {result.GetValue(output)!.FullName}: is a folder or one of the inputs; give a new file"
                : result.GetValue(sheet) is { } f && (Directory.Exists(f.FullName) || f.FullName == ckpt || f.FullName == result.GetValue(diffuser)!.FullName || f.FullName == result.GetValue(output)?.FullName)
                    ? $"--sheet {result.GetValue(sheet)!.FullName}: is a folder, an input or the report; give a new .png file"
                : null;
            if (problem is not null)
            {
                Console.Error.WriteLine($"{name}: {problem}");
                return ExitCodes.UsageOrIo;
            }
            try
            {
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                if (result.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(result.GetValue(threads));
                using var checker = ShapesChecker.Load(ckpt);
                var accuracy = CheckerEvaluation.Report(checker, result.GetValue(scenes), result.GetValue(renderSeed));
                Console.WriteLine($"{"renders",-8} {"scenes",6} {"recall",7} {"precision",9} {"relations",9} {"scenes ok",9} {"box err px",10}");
                foreach (var a in accuracy)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{a.Level,-8} {a.Scenes,6} {a.ObjectRecall,7:P1} {a.ObjectPrecision,9:P1} {a.RelationAccuracy,9:P1} {a.SceneAccuracy,9:P1} {a.MeanBoxError,10:F2}"));
                CheckerJudgeAgreement? agreement = null;
                if (result.GetValue(prompts) > 0)
                {
                    using var model = DiffuserCheckpoint.Load(result.GetValue(diffuser)!.FullName);
                    var validation = EvaluationSet.Create(result.GetValue(prompts), result.GetValue(promptSeed), checker.World);
                    Console.Error.WriteLine($"Generating {validation.Count} images with {model.Path} (validation prompts, seed {result.GetValue(promptSeed)})...");
                    var images = CheckerEvaluation.Generate(model.CreatePipeline(), validation, result.GetValue(samplingSeed));
                    agreement = CheckerEvaluation.Agreement(checker, new ShapesJudge(checker.World), validation, images);
                    if (result.GetValue(sheet) is { } png && agreement.Disagreements.Count > 0)
                    {
                        using var figure = CheckerEvaluation.ContactSheet(agreement.Disagreements.Take(32).Select(d => images[d.Index]).ToList(), checker.World.CanvasSize);
                        AtomicFile.Write(png.FullName, stream => SixLabors.ImageSharp.ImageExtensions.SaveAsPng(figure, stream));
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Agreement with the judge on {agreement.Images} Diffuser samples (judge / Checker say yes; Cohen's kappa):"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  objects present   {agreement.ObjectAgreement,6:P1} of {agreement.Objects} ({agreement.JudgeObjectsPresent:P1} / {agreement.CheckerObjectsPresent:P1}; kappa {agreement.ObjectKappa:F2})"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  relations hold    {agreement.RelationAgreement,6:P1} of {agreement.Relations} ({agreement.JudgeRelationsHold:P1} / {agreement.CheckerRelationsHold:P1}; kappa {agreement.RelationKappa:F2})"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  image perfect     {agreement.PerfectAgreement,6:P1} of {agreement.Images} ({agreement.JudgePerfect:P1} / {agreement.CheckerPerfect:P1}; kappa {agreement.PerfectKappa:F2})"));
                }
                var report = new JsonObject
                {
                    ["checkpoint"] = Path.GetFileName(ckpt),
                    ["renders"] = new JsonObject
                    {
                        ["scenes_per_level"] = result.GetValue(scenes),
                        ["seed"] = result.GetValue(renderSeed),
                        ["levels"] = JsonSerializer.SerializeToNode(accuracy),
                    },
                    ["judge_agreement"] = agreement is null ? null : new JsonObject
                    {
                        ["diffuser"] = Path.GetFileName(result.GetValue(diffuser)!.FullName),
                        ["prompts"] = $"EvaluationSet.Create({result.GetValue(prompts)}, seed: {result.GetValue(promptSeed)}) (validation prompts, not the evaluation set)",
                        ["sampler"] = $"ShapesWorldDiffuser: {ShapesWorldDiffuser.SamplingSteps} steps, guidance {ShapesWorldDiffuser.GuidanceScale}, eta {ShapesWorldDiffuser.Eta}, seed {result.GetValue(samplingSeed)}",
                        ["figures"] = JsonSerializer.SerializeToNode(agreement with { Disagreements = [] }),
                    },
                    ["command"] = "rlrig " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                };
                if (result.GetValue(output) is { } file)
                {
                    var full = report.DeepClone().AsObject();
                    if (agreement is not null) full["judge_agreement"]!["disagreements"] = JsonSerializer.SerializeToNode(agreement.Disagreements);
                    AtomicFile.WriteAllText(file.FullName, full.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                }
                if (result.GetValue(manifest)) Manifest.Update(ckpt, "evaluation", report);
                return 0;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report(name, e);
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
    public const string CheckerCheckpoint = "data/shapes-world/checker/checker.ckpt";
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
