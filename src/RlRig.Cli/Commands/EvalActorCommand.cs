using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary>
/// <c>rlrig eval actor</c>: the learned Actor on held-out states, synthetic or real (the Checker's readings on loop
/// rollouts of held-out prompts), beside the rule-based Actor and any other Actor checkpoints, measured by the world and
/// by the training-free editor's own plan of each edit.
/// </summary>
static class EvalActorCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Actor checkpoint.", DefaultValueFactory = _ => new FileInfo(LearnedActor.RelativePath) };
        var compare = new Option<FileInfo[]>("--compare") { Description = "Other Actor checkpoints decoded greedily on the same states (one row each).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var states = new Option<int>("--states") { Description = "Held-out synthetic states (without --real-prompts).", DefaultValueFactory = _ => 500 }.InRange(1, 1_000_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the held-out states (training draws its states from a torch generator, never from this).", DefaultValueFactory = _ => 90_000 }.InRange(0, int.MaxValue);
        var realPrompts = new Option<int>("--real-prompts") { Description = "Measure on real states instead: the loop (Diffuser, Checker, rule-based Actor, training-free editor) rolled out on this many held-out prompts drawn from --seed, none an evaluation prompt or a training prompt of an Actor measured; every unsatisfied round with a correct instruction is a state (0 = synthetic states).", DefaultValueFactory = _ => 0 }.InRange(0, 1_000_000);
        var rounds = new Option<int>("--rollout-rounds") { Description = "Edit rounds of each rollout (with --real-prompts).", DefaultValueFactory = _ => new ActorTrainerOptions().RealRounds }.InRange(0, 32);
        var g = new Option<int>("--g") { Description = "Samples per state at temperature 1.", DefaultValueFactory = _ => 8 }.InRange(1, 1024);
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts excluded from the states' targets.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var manifest = new Option<bool>("--update-manifest") { Description = "Record the figures in the checkpoint's manifest (under \"evaluation\", or \"evaluation_real\" with --real-prompts)." };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default).", DefaultValueFactory = _ => 1 }.InRange(0, 1024);
        // --checkpoint is the Actor's here, so the loop's Diffuser has a flag of its own.
        var setup = new LoopSetup("--diffuser");
        var command = new Command("actor", "Measure the learned Actor on held-out states, synthetic or (--real-prompts) real: validity, exact match (in the world's correct set), fixes-the-error rate and the share of edits the training-free editor cannot carry out, for greedy decoding and for sampling, distinct instructions among G samples, and the rule-based Actor and any --compare checkpoints on the same states.")
        {
            checkpoint, compare, states, seed, realPrompts, rounds, g, evalSet, output, manifest, threads,
        };
        foreach (var option in setup.RuleLoop) command.Options.Add(option);
        command.SetAction((result, cancel) => Task.Factory.StartNew(async () =>
        {
            const string name = "rlrig eval actor";
            try
            {
                var ckpt = result.GetValue(checkpoint)!.FullName;
                var others = result.GetValue(compare)!.Select(f => f.FullName).ToList();
                var inputs = new[] { new CommandInput(ckpt, "--checkpoint"), new CommandInput(LearnedActor.ManifestPath(ckpt), "the manifest of --checkpoint"), new CommandInput(result.GetValue(evalSet)!.FullName, "--eval-set") }
                    .Concat(others.Select(o => new CommandInput(o, "--compare"))).Concat(setup.Inputs(result)).ToArray();
                if (result.GetValue(output) is { } o) OutputPolicy.RequireFile(o.ToString(), "--out", inputs);
                if (CommandFiles.ProblemWithInput(result.GetValue(evalSet)!.FullName, "--eval-set") is { } missing) throw new CommandLineException(missing);
                foreach (var other in others)
                    if (CommandFiles.ProblemWithInput(other, "--compare") is { } problem) throw new CommandLineException(problem);
                setup.RequireFiles(result);
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                if (result.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(result.GetValue(threads));
                using var components = setup.Load(result);
                var world = components.World;
                using var actor = LearnedActor.Load(ckpt, world);
                var evalPrompts = EvaluationSet.Read(result.GetValue(evalSet)!.FullName);
                var real = result.GetValue(realPrompts);
                IReadOnlyList<ActorExample> heldOut;
                string described;
                JsonObject? collected = null;
                if (real == 0)
                {
                    heldOut = ActorEvaluation.HeldOut(new ActorTrainingData(world, evalPrompts), result.GetValue(states), result.GetValue(seed));
                    described = $"ActorEvaluation.HeldOut({result.GetValue(states)}, seed: {result.GetValue(seed)})";
                }
                else
                {
                    var training = new[] { ckpt }.Concat(others).SelectMany(c => TrainingPrompts(c, world, evalPrompts)).DistinctBy(EvaluationSet.Key).ToList();
                    var rollouts = await TrainGrpoCommand.CollectStatesAsync(components, new TrainGrpoCommand.Rollouts(real, result.GetValue(rounds), result.GetValue(evalSet)!.FullName),
                        result.GetValue(seed), cancel, training);
                    try { heldOut = ActorTrainingData.Label(world, rollouts.Select(s => s.Reflection), actor.Model.Config.ContextLength); }
                    finally { RolloutStates.Dispose(rollouts); }
                    described = $"real: the Checker's readings on loop rollouts (rule-based Actor, training-free editor, {result.GetValue(rounds)} rounds) of RolloutStates.TrainingPrompts({real}, seed: {result.GetValue(seed)}) without the training prompts of the Actors measured; unsatisfied rounds with a correct instruction";
                    collected = new JsonObject { ["unsatisfied_rounds"] = rollouts.Count, ["labelled_states"] = heldOut.Count, ["training_prompts_excluded"] = training.Count };
                    Console.Error.WriteLine($"{rollouts.Count} unsatisfied rounds, {heldOut.Count} with a correct instruction ({training.Count} training prompts excluded)");
                }
                var editor = (TrainingFreeEditor)components.Editor;
                string? EditorFailure(EditInstruction instruction, Reflection reflection) => editor.Plan(instruction, reflection).Failure;
                var report = ActorEvaluation.Evaluate(actor, heldOut, result.GetValue(g), new Progress<string>(s => Console.Error.WriteLine(s)), EditorFailure);
                var compared = new JsonObject();
                var rows = new List<(string, ActorDecodingScore)>();
                foreach (var other in others)
                {
                    using var otherActor = LearnedActor.Load(other, world);
                    var score = ActorEvaluation.Greedy(otherActor, heldOut, EditorFailure);
                    rows.Add(($"{Path.GetFileName(Path.GetDirectoryName(other))}/{Path.GetFileName(other)}, greedy", score));
                    compared[other] = JsonSerializer.SerializeToNode(score);
                }
                Print(report, rows);
                var json = new JsonObject
                {
                    ["checkpoint"] = Path.GetFileName(ckpt),
                    ["states"] = described,
                    ["figures"] = JsonSerializer.SerializeToNode(report),
                    ["command"] = "rlrig " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                };
                if (collected is not null) json["collected"] = collected;
                if (others.Count > 0) json["compared"] = compared;
                if (result.GetValue(output) is { } file) AtomicFile.WriteAllText(file.FullName, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                if (result.GetValue(manifest)) Manifest.Update(ckpt, real == 0 ? "evaluation" : "evaluation_real", json);
                return 0;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"{name}: interrupted while collecting states; nothing was written");
                return ExitCodes.Interrupted;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report(name, e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap());
        return command;
    }

    // The prompts whose rollouts trained an Actor (its manifest's options: RealPrompts drawn from Seed), which held-out
    // real states must not come from; none for an Actor trained on synthetic states only.
    static IReadOnlyList<SceneGraph> TrainingPrompts(string checkpoint, WorldOptions world, IReadOnlyList<SceneGraph> evalPrompts)
    {
        var options = JsonNode.Parse(File.ReadAllText(LearnedActor.ManifestPath(checkpoint)))?["options"];
        var (count, seed) = (options?["RealPrompts"]?.GetValue<int>() ?? 0, options?["Seed"]?.GetValue<long>() ?? 0);
        return count == 0 ? [] : RolloutStates.TrainingPrompts(world, evalPrompts, count, (int)seed);
    }

    static void Print(ActorEvaluationReport r, IReadOnlyList<(string Label, ActorDecodingScore Score)> compared)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"{r.States} held-out states ({r.SatisfiedStates} already satisfied; {r.MeanCorrectSetSize:F1} correct instructions per state on average), {r.Seconds:F0} s"));
        Console.WriteLine($"{"decoding",-34} {"proposals",9} {"valid",7} {"exact",7} {"fixes",7} {"editor cannot",13}");
        foreach (var (label, s) in new[] { ("learned, greedy", r.Greedy), ($"learned, T=1 (G={r.G})", r.Sampled), ("rule-based", r.RuleBased) }.Concat(compared))
            Console.WriteLine(string.Create(c, $"{label,-34} {s.Proposals,9} {s.ValidRate,7:P1} {s.ExactMatchRate,7:P1} {s.FixesRate,7:P1} {s.NotCarriedOutRate,13:P1}"));
        Console.WriteLine(string.Create(c, $"distinct instructions among G={r.G} samples per state: {r.MeanDistinctOfG:F2}"));
    }
}
