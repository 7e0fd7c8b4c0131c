using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using RlRig.IO;
using RlRig.LaionSg;
using RlRig.Loop.Evaluation;
using RlRig.Notebook.Rendering;
using RlRig.Remote;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig eval laion-sg</c>: the loop with models behind HTTP on LAION-SG records, scored with the judge protocol, resumable.</summary>
static class EvalLaionSgCommand
{
    public static Command Create()
    {
        var records = new Option<FileInfo>("--records") { Description = "LAION-SG records (JSON array; read as a stream).", Required = true };
        var limit = new Option<int>("--limit") { Description = "Use only the first N records (0 = all).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var rounds = new Option<int>("--rounds") { Description = "The loop's most edit rounds (K); 0 judges the first image alone.", DefaultValueFactory = _ => new LaionSgEvaluationOptions().Rounds }.InRange(0, 32);
        var seed = new Option<int>("--seed") { Description = "Seed of every record's first image and edits.", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var prompt = new Option<string>("--prompt") { Description = "What the image server is asked to draw: graph (RL-RIG's scene-graph prompt) or caption (caption_ori).", DefaultValueFactory = _ => "graph" }
            .Check(s => s is "graph" or "caption", "graph or caption");
        var images = new Option<DirectoryInfo?>("--images") { Description = "Load each record's first image from this folder (by its name field) instead of generating it." };
        var records_ = new Option<int>("--records-in-flight") { Description = "Records run at once.", DefaultValueFactory = _ => new LaionSgEvaluationOptions().Concurrency }.InRange(1, 256);
        var output = new Option<DirectoryInfo>("--out") { Description = "Results folder: results.jsonl, errors.jsonl, images/, summary.json, summary.md, report.html. Run again with the same arguments to resume.", Required = true };
        var remote = new RemoteSetup();
        var command = new Command("laion-sg", "Run the Generate-Reflect-Edit loop with models behind OpenAI-compatible HTTP servers on LAION-SG records and score the images with LAION-SG's judge protocol (SG-IoU, Entity-IoU, Relation-IoU) and a VLM spatial-consistency rubric.")
        {
            records, limit, rounds, seed, prompt, images, records_, output,
        };
        foreach (var option in remote.All) command.Options.Add(option);
        command.SetAction((result, cancel) => Task.Run(async () =>
        {
            try
            {
                // Everything that can be checked without a server is checked before any request.
                var recordsPath = result.GetValue(records)!.FullName;
                if (CommandFiles.ProblemWithInput(recordsPath, "--records") is { } problem) throw new CommandLineException(problem);
                var imagesRoot = result.GetValue(images)?.FullName;
                if (imagesRoot is not null && !Directory.Exists(imagesRoot)) throw new CommandLineException($"--images: {imagesRoot} is not a folder");
                var needImages = imagesRoot is null || result.GetValue(rounds) > 0;
                var endpoints = remote.Endpoints(result, needImages);
                var http = remote.Http(result);
                var options = new LaionSgEvaluationOptions { Rounds = result.GetValue(rounds), Seed = result.GetValue(seed), Concurrency = result.GetValue(records_) }.Validate();
                var folder = OutputPolicy.RequireFolder(result.GetValue(output)!.ToString(), "--out",
                    [SystemEvaluation.ResultsFile, SystemEvaluation.RunFile, LaionSgEvaluation.ErrorsFile, "summary.json", "summary.md", "report.html"], [SystemEvaluation.ImagesFolder],
                    [new(recordsPath, "--records"), .. imagesRoot is null ? Array.Empty<CommandInput>() : [new CommandInput(imagesRoot, "--images")]]);
                var arguments = new Dictionary<string, string>(remote.Describe(result, endpoints, needImages))
                {
                    ["records_sha256"] = Sha256(recordsPath),
                    ["limit"] = result.GetValue(limit).ToString(CultureInfo.InvariantCulture),
                    ["rounds"] = options.Rounds.ToString(CultureInfo.InvariantCulture),
                    ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
                    ["first_images"] = imagesRoot is null ? "generated from the " + result.GetValue(prompt) : "loaded from --images",
                };
                using var hold = SystemEvaluation.Lock(folder);
                var done = SystemEvaluation.Prepare(folder, arguments);

                var byCaption = result.GetValue(prompt) == "caption";
                var captions = new Dictionary<RlRig.SceneGraphs.SceneGraph, string>();
                using var backends = new RemoteBackends(endpoints, http, remote.Vlm(result), images: remote.Images(result),
                    promptText: byCaption ? g => { lock (captions) return captions[g]; } : null);
                var stream = LaionSgReader.ReadRecords(recordsPath);
                if (result.GetValue(limit) > 0) stream = stream.Take(result.GetValue(limit));
                if (byCaption) stream = stream.Select(r => { lock (captions) captions[r.ToSceneGraph()] = r.CaptionOri; return r; });
                Func<LaionSgRecord, Image<Rgb24>>? load = imagesRoot is null ? null : r => Image.Load<Rgb24>(LaionSgImages.ReadImage(imagesRoot, r));
                var started = DateTime.UtcNow;
                LaionSgRunResult run;
                try
                {
                    run = await backends.Evaluation(options).RunAsync(folder, stream, done, load,
                        new Progress<LaionSgRunResult>(p => Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                            $"\r{done.Count + p.Judged} records judged, {p.Failed} failed, {p.Usage.Requests} requests, {p.Usage.CacheHits} cached, {(DateTime.UtcNow - started).TotalSeconds:0} s"))), cancel);
                }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine($"\nrlrig eval laion-sg: interrupted; the results so far are in {folder}: run the same command again to resume");
                    return ExitCodes.Interrupted;
                }
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"\r{run.Judged} records judged now ({done.Count} before), {run.Failed} failed, in {(DateTime.UtcNow - started).TotalSeconds:0} s"));
                var summary = LaionSgSummary.Read(folder, arguments);
                AtomicFile.WriteAllText(Path.Combine(folder, "summary.json"), JsonSerializer.Serialize(summary, Json) + "\n");
                var markdown = summary.ToMarkdown();
                AtomicFile.WriteAllText(Path.Combine(folder, "summary.md"), markdown);
                AtomicFile.WriteAllText(Path.Combine(folder, "report.html"), Report(folder, markdown));
                Console.Write(TerminalText.EscapeKeepingLines(markdown));
                if (summary.Failed > 0)
                    Console.Error.WriteLine($"rlrig eval laion-sg: {summary.Failed} records failed (see {Path.Combine(folder, LaionSgEvaluation.ErrorsFile)}); run the same command again to retry them");
                return ExitCodes.Ok;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report("rlrig eval laion-sg", e);
            }
        }, CancellationToken.None));
        return command;
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    // The summary, then each record (in results.jsonl's order, the first 100): its first and kept images, the Actor's
    // instructions and the judge's scores. Every text is escaped; images are inline, so the page opens offline.
    static string Report(string folder, string markdown)
    {
        var fragments = new List<string> { "<pre style=\"font-size:12px\">" + Markup.Escape(markdown) + "</pre>" };
        var path = Path.Combine(folder, SystemEvaluation.ResultsFile);
        foreach (var text in File.ReadLines(path).Where(l => l.Length > 0).Take(100))
        {
            var line = JsonNode.Parse(text)!.AsObject();
            var trace = line["trace"]!.AsArray().OfType<JsonObject>().ToList();
            var html = new StringBuilder("<div style=\"font-family:sans-serif;font-size:12px\">");
            html.Append(CultureInfo.InvariantCulture, $"<div><b>{Markup.Escape((string?)line["img_id"])}</b>: {Markup.Escape((string?)line["prompt"])}</div><div style=\"display:flex;gap:8px\">");
            foreach (var round in trace)
            {
                var image = Path.Combine(folder, (string)round["image"]!);
                var src = File.Exists(image) ? Convert.ToBase64String(File.ReadAllBytes(image)) : "";
                html.Append($"<div style=\"width:170px\"><img src=\"data:image/png;base64,{src}\" width=\"160\" alt=\"round {round["round"]}\"/>"
                    + $"<div>round {round["round"]}: Checker {Markup.Num((double)round["checker_score"]!)}</div>"
                    + (round["instruction"] is { } i ? $"<div><i>{Markup.Escape((string?)i)}</i></div>" : "")
                    + (round["edit_failure"] is { } f ? $"<div style=\"color:#b91c1c\">{Markup.Escape((string?)f)}</div>" : "") + "</div>");
            }
            var sg = line["judge"]!["scene_graph"]!;
            html.Append(CultureInfo.InvariantCulture, $"</div><div>kept round {line["best_round"]}: SG-IoU {Markup.Num((double)sg["sg_iou"]!)}, Entity-IoU {Markup.Num((double)sg["entity_iou"]!)}, Relation-IoU {Markup.Num((double)sg["relation_iou"]!)}, spatial {Markup.Escape(line["judge"]!["spatial"]!["score"]?.ToJsonString() ?? "-")}</div></div>");
            fragments.Add(html.ToString());
        }
        return TraceHtml.Page("rlrig eval laion-sg", fragments);
    }
}
