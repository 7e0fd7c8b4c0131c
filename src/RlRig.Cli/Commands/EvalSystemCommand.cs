using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RlRig.IO;
using RlRig.LaionSg;
using RlRig.Loop;
using RlRig.Loop.Evaluation;
using RlRig.Notebook.Rendering;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval system</c>: a whole system (Diffuser alone, best-of-N, the loop) on the evaluation set, judged by the judge, resumable.</summary>
static class EvalSystemCommand
{
    public static Command Create()
    {
        var system = new Option<string>("--system") { Description = "diffuser | best-of-n | loop.", Required = true };
        var n = new Option<int>("--n") { Description = "Best-of-N: images drawn per prompt, of which the Checker keeps one.", DefaultValueFactory = _ => 4 }.InRange(1, 256);
        var rounds = new Option<int>("--rounds") { Description = "The loop: most edit rounds (K).", DefaultValueFactory = _ => new LoopOptions().MaxRounds }.InRange(0, 32);
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts (LAION-SG).", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated evaluation seeds.", DefaultValueFactory = _ => "0,1,2" };
        var limit = new Option<int>("--prompts") { Description = "Use only the first N prompts (0 = all).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var output = new Option<DirectoryInfo>("--out") { Description = "Results folder: results.jsonl, images/, summary.json, summary.md, report.html. Run again with the same arguments to resume.", Required = true };
        var setup = new LoopSetup();
        var command = new Command("system", "Evaluate a system on the evaluation set with the judge: the Diffuser alone, best-of-N (the Checker picks), or the Generate-Reflect-Edit loop.")
        {
            system, n, rounds, evalSet, seeds, limit, output,
        };
        foreach (var option in setup.All) command.Options.Add(option);
        // On a thread of its own, so that System.CommandLine installs its Ctrl+C handler (it does once the action returns
        // its task) and the work stops between batches with what it has written kept.
        command.SetAction((result, cancel) => Task.Run(async () =>
        {
            try
            {
                // Everything that can be checked without the models is checked before any work.
                var kind = result.GetValue(system) switch
                {
                    "diffuser" => SystemKind.Diffuser, "best-of-n" => SystemKind.BestOfN, "loop" => SystemKind.Loop,
                    var other => throw new CommandLineException($"--system: '{RlRig.IO.TerminalText.Escape(other)}' is not a system (diffuser, best-of-n, loop)"),
                };
                var spec = new SystemSpec(kind, kind == SystemKind.BestOfN ? result.GetValue(n) : 1, kind == SystemKind.Loop ? result.GetValue(rounds) : 0);
                var seedList = ParseSeeds(result.GetValue(seeds)!);
                var evalPath = result.GetValue(evalSet)!.FullName;
                if (CommandFiles.ProblemWithInput(evalPath, "--eval-set") is { } problem) throw new CommandLineException(problem);
                setup.RequireFiles(result);
                var records = LaionSgReader.ReadRecords(evalPath).ToList();
                var prompts = records.Select(r => new EvaluationPrompt(r.ImgId, r.ToSceneGraph())).ToList();
                if (result.GetValue(limit) > 0) prompts = prompts.Take(result.GetValue(limit)).ToList();
                if (prompts.Count == 0) throw new ArgumentException($"--eval-set {evalPath}: no prompts");
                var folder = OutputPolicy.RequireFolder(result.GetValue(output)!.ToString(), "--out",
                    [SystemEvaluation.ResultsFile, SystemEvaluation.RunFile, "summary.json", "summary.md", "report.html"], [SystemEvaluation.ImagesFolder, SystemEvaluation.TracesFolder],
                    [.. setup.Inputs(result), new(evalPath, "--eval-set")]);
                var arguments = new Dictionary<string, string>(setup.Describe(result))
                {
                    ["system"] = result.GetValue(system)!, ["n"] = spec.N.ToString(CultureInfo.InvariantCulture), ["rounds"] = spec.Rounds.ToString(CultureInfo.InvariantCulture),
                    ["eval_set_sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(evalPath))), ["prompts"] = prompts.Count.ToString(CultureInfo.InvariantCulture),
                    ["seeds"] = string.Join(",", seedList),
                };
                // Loaded before the run folder is touched: a checkpoint of the wrong kind (an editor given where a
                // Diffuser goes) is refused when it loads, and must not leave a run.json that then refuses the right one.
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                using var parts = setup.Load(result);
                using var hold = SystemEvaluation.Lock(folder);
                var done = SystemEvaluation.Prepare(folder, arguments);
                var evaluation = new SystemEvaluation(spec, new SystemComponents(parts.Diffuser, parts.Checker, parts.Actor, parts.Editor), new ShapesJudge(parts.World));
                var total = prompts.Count * seedList.Count;
                var started = DateTime.UtcNow;
                var ran = 0;
                try
                {
                    ran = await evaluation.RunAsync(folder, prompts, seedList, done,
                        new Progress<int>(k => Console.Error.Write($"\r{done.Count + k}/{total} (prompt, seed) pairs done, {(DateTime.UtcNow - started).TotalSeconds:0} s")), cancel);
                }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine($"\nrlrig eval system: interrupted; the results so far are in {folder}: run the same command again to resume");
                    return ExitCodes.Interrupted;
                }
                Console.Error.WriteLine($"\r{total}/{total} (prompt, seed) pairs done; {ran} run now in {(DateTime.UtcNow - started).TotalSeconds:0} s");
                var summary = SystemSummary.Read(folder, arguments);
                AtomicFile.WriteAllText(Path.Combine(folder, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }) + "\n");
                var markdown = summary.ToMarkdown();
                AtomicFile.WriteAllText(Path.Combine(folder, "summary.md"), markdown);
                AtomicFile.WriteAllText(Path.Combine(folder, "report.html"), Report(folder, summary));
                Console.Write(markdown);
                return ExitCodes.Ok;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report("rlrig eval system", e);
            }
        }, CancellationToken.None));
        return command;
    }

    static List<int> ParseSeeds(string text)
    {
        var seeds = text.Split(',', StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v
                : throw new CommandLineException($"--seeds: '{RlRig.IO.TerminalText.Escape(s)}' is not a non-negative integer (give e.g. 0,1,2)")).ToList();
        if (seeds.Distinct().Count() != seeds.Count) throw new CommandLineException("--seeds: a seed is given twice");
        return seeds;
    }

    // The summary as HTML, then the sample traces (the first prompts, first seed).
    static string Report(string folder, SystemSummary summary)
    {
        var fragments = new List<string> { "<pre style=\"font-size:12px\">" + Markup.Escape(summary.ToMarkdown()) + "</pre>" };
        var traces = Path.Combine(folder, SystemEvaluation.TracesFolder);
        if (Directory.Exists(traces))
            foreach (var dir in Directory.GetDirectories(traces).Order(StringComparer.Ordinal))
            {
                try { using var trace = LoopTraceFile.Load(dir); fragments.Add(TraceHtml.Fragment(trace)); }
                catch (LoopTraceFormatException e) { fragments.Add($"<p>{Markup.Escape(e.Message)}</p>"); }
            }
        return TraceHtml.Page("rlrig eval system", fragments);
    }
}
