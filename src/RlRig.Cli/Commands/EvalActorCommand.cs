using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.Loop.Actors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval actor</c>: the learned Actor on held-out states, beside the rule-based Actor, measured by the world.</summary>
static class EvalActorCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Actor checkpoint.", DefaultValueFactory = _ => new FileInfo(LearnedActor.RelativePath) };
        var states = new Option<int>("--states") { Description = "Held-out states.", DefaultValueFactory = _ => 500 }.InRange(1, 1_000_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the held-out states (training draws its states from a torch generator, never from this).", DefaultValueFactory = _ => 90_000 }.InRange(0, int.MaxValue);
        var g = new Option<int>("--g") { Description = "Samples per state at temperature 1.", DefaultValueFactory = _ => 8 }.InRange(1, 1024);
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts excluded from the states' targets.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var manifest = new Option<bool>("--update-manifest") { Description = "Record the figures in the checkpoint's manifest." };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default).", DefaultValueFactory = _ => 1 }.InRange(0, 1024);
        var command = new Command("actor", "Measure the learned Actor on held-out states: validity, exact match (in the world's correct set) and fixes-the-error rates for greedy decoding and for sampling, distinct instructions among G samples, and the rule-based Actor on the same states.")
        {
            checkpoint, states, seed, g, evalSet, output, manifest, threads,
        };
        command.SetAction((result, cancel) => Task.Run(() =>
        {
            const string name = "rlrig eval actor";
            try
            {
                var ckpt = result.GetValue(checkpoint)!.FullName;
                var inputs = new[] { new CommandInput(ckpt, "--checkpoint"), new CommandInput(LearnedActor.ManifestPath(ckpt), "the manifest of --checkpoint"), new CommandInput(result.GetValue(evalSet)!.FullName, "--eval-set") };
                if (result.GetValue(output) is { } o) OutputPolicy.RequireFile(o.ToString(), "--out", inputs);
                if (CommandFiles.ProblemWithInput(result.GetValue(evalSet)!.FullName, "--eval-set") is { } missing) throw new CommandLineException(missing);
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                if (result.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(result.GetValue(threads));
                var world = new WorldOptions();
                using var actor = LearnedActor.Load(ckpt, world);
                var data = new ActorTrainingData(world, EvaluationSet.Read(result.GetValue(evalSet)!.FullName));
                var heldOut = ActorEvaluation.HeldOut(data, result.GetValue(states), result.GetValue(seed));
                var report = ActorEvaluation.Evaluate(actor, heldOut, result.GetValue(g), new Progress<string>(s => Console.Error.WriteLine(s)));
                Print(report);
                var json = new JsonObject
                {
                    ["checkpoint"] = Path.GetFileName(ckpt),
                    ["states"] = $"ActorEvaluation.HeldOut({result.GetValue(states)}, seed: {result.GetValue(seed)})",
                    ["figures"] = JsonSerializer.SerializeToNode(report),
                    ["command"] = "rlrig " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                };
                if (result.GetValue(output) is { } file) AtomicFile.WriteAllText(file.FullName, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                if (result.GetValue(manifest)) Manifest.Update(ckpt, "evaluation", json);
                return 0;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report(name, e);
            }
        }, CancellationToken.None));
        return command;
    }

    static void Print(ActorEvaluationReport r)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"{r.States} held-out states ({r.SatisfiedStates} already satisfied; {r.MeanCorrectSetSize:F1} correct instructions per state on average), {r.Seconds:F0} s"));
        Console.WriteLine($"{"decoding",-22} {"proposals",9} {"valid",7} {"exact",7} {"fixes",7}");
        foreach (var (label, s) in new[] { ("learned, greedy", r.Greedy), ($"learned, T=1 (G={r.G})", r.Sampled), ("rule-based", r.RuleBased) })
            Console.WriteLine(string.Create(c, $"{label,-22} {s.Proposals,9} {s.ValidRate,7:P1} {s.ExactMatchRate,7:P1} {s.FixesRate,7:P1}"));
        Console.WriteLine(string.Create(c, $"distinct instructions among G={r.G} samples per state: {r.MeanDistinctOfG:F2}"));
    }
}
