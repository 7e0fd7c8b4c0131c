using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RlRig.IO;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig world ...</c>: the shapes world's data and its judge.</summary>
public static class WorldCommand
{
    public static Command Create() => new("world", "The shapes world: generate data, the fixed evaluation set, the judge's accuracy.")
    {
        Generate(), EvalSet(), JudgeReport(),
    };

    static Command EvalSet()
    {
        var n = new Option<int>("--n") { Description = "Number of prompts (a multiple of 3).", DefaultValueFactory = _ => 300 }
            .Check(v => v >= 3 && v % 3 == 0, "a positive multiple of 3");
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1000 };
        var output = new Option<FileInfo>("--out") { Description = "Output file.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var command = new Command("eval-set", $"Write the fixed evaluation prompts (LAION-SG schema; the committed copy is {EvaluationSet.RelativePath}).") { n, seed, output };
        command.SetAction(result => Guard(() =>
        {
            OutputPolicy.RequireFile(result.GetValue(output)!.ToString(), "--out");
            var options = new WorldOptions();
            var scenes = EvaluationSet.Create(result.GetValue(n), result.GetValue(seed), options);
            EvaluationSet.Write(result.GetValue(output)!.FullName, scenes);
            var chance = EvaluationSet.ChanceRelationAccuracy(scenes, options, seed: 7);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {scenes.Count} prompts to {result.GetValue(output)!.FullName}; relation accuracy of random placement: {chance:P1}"));
        }));
        return command;
    }

    static Command Generate()
    {
        var n = new Option<int>("--n") { Description = "Number of scenes.", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output folder.", Required = true };
        var size = new Option<int>("--size") { Description = "Canvas size in pixels (32 or 64).", DefaultValueFactory = _ => 32 }.OneOf(32, 64);
        var command = new Command("generate", "Render N random scenes as PNG images plus annotations in LAION-SG schema (annotations.json) and their boxes (boxes.json) into a new or empty folder; an interrupted run leaves nothing.")
        {
            n, seed, output, size,
        };
        // On a thread of its own, so that the action hands System.CommandLine its task at once: its Ctrl+C/SIGTERM handler,
        // which cancels ct, is only in place once the action has returned.
        command.SetAction((result, ct) => Task.Run(() => Guard(() =>
        {
            var folder = result.GetValue(output)!.ToString();
            if (WorldDataset.ProblemWithFolder(folder) is { } problem) throw new CommandLineException($"--out {folder}: {problem}");
            OutputPolicy.RequireFolder(folder, "--out", [], []);
            var written = WorldDataset.Generate(folder, result.GetValue(n), result.GetValue(seed),
                new WorldOptions { CanvasSize = result.GetValue(size) }, ct);
            Console.WriteLine($"Wrote {written.Count} scenes to {Path.GetFullPath(folder)}");
        }), CancellationToken.None));
        return command;
    }

    static Command JudgeReport()
    {
        var scenes = new Option<int>("--scenes") { Description = "Scenes per degradation level.", DefaultValueFactory = _ => 600 }.AtLeast(1);
        var seed = new Option<int>("--seed") { Description = "Seed of the measured scenes (the judge was tuned on seed 1).", DefaultValueFactory = _ => 2 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the report as JSON here." };
        var legacy = new Option<bool>("--legacy-judge") { Description = "Measure the judge as it was before it read ragged edges (JudgeOptions.Legacy), to compare." };
        var command = new Command("judge-report", "Measure the judge's accuracy on renders, clean and degraded by noise, blur and colour jitter, and with ragged object edges.") { scenes, seed, output, legacy };
        command.SetAction(result => Guard(() =>
        {
            if (result.GetValue(output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out");
            var judge = new ShapesJudge(new WorldOptions(), result.GetValue(legacy) ? JudgeOptions.Legacy : null);
            var report = JudgeAccuracy.Report(judge, result.GetValue(scenes), result.GetValue(seed));
            Console.WriteLine($"{"level",-8} {"scenes",7} {"obj recall",10} {"obj prec",9} {"relations",9} {"scenes ok",9}");
            foreach (var r in report)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Level,-8} {r.Scenes,7} {r.ObjectRecall,10:P1} {r.ObjectPrecision,9:P1} {r.RelationAgreement,9:P1} {r.SceneAccuracy,9:P1}"));
            if (result.GetValue(output) is { } file)
                AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        }));
        return command;
    }

    static int Guard(Action action)
    {
        try
        {
            action();
            return ExitCodes.Ok;
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e))
        {
            return CommandErrors.Report("rlrig world", e);
        }
        catch (OperationCanceledException)
        {
            // Generate has already removed what it had made: say so, as a script cannot tell otherwise.
            Console.Error.WriteLine("rlrig world: interrupted; nothing was written");
            return ExitCodes.Interrupted;
        }
    }
}
