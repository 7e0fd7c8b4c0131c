using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RlRig.IO;
using RlRig.LaionSg;
using RlRig.Loop;
using RlRig.Loop.Evaluation;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Remote;

/// <summary>Options of <see cref="LaionSgEvaluation"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record LaionSgEvaluationOptions
{
    /// <summary>Most edit rounds of the loop (K); 0 judges the first image alone. Defaults to 3.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>The seed of every record's first image (and, through the loop, of its edits). Defaults to 0.</summary>
    public int Seed { get; init; }

    /// <summary>Records in flight at once. Defaults to 4; each server's own limit (<see cref="HttpBackendOptions.MaxConcurrency"/>) still holds.</summary>
    public int Concurrency { get; init; } = 4;

    public LaionSgEvaluationOptions Validate()
    {
        if (Rounds is < 0 or > 32) throw new ArgumentException($"Rounds must be 0 to 32, got {Rounds}");
        if (Seed < 0) throw new ArgumentException($"Seed must be >= 0, got {Seed}");
        if (Concurrency is < 1 or > 256) throw new ArgumentException($"Concurrency must be 1 to 256, got {Concurrency}");
        return this;
    }
}

/// <summary>What a run did: records judged now, records that failed (in errors.jsonl, retried by the next run), and the usage of this run.</summary>
public sealed record LaionSgRunResult(int Judged, int Failed, Usage Usage);

/// <summary>
/// RL-RIG's evaluation on LAION-SG with models behind HTTP: for every record, the Diffuser draws (or a folder gives) the
/// first image, the Generate-Reflect-Edit loop runs with the configured Checker, Actor and editor, and the judges score
/// the kept image (and the first one) with LAION-SG's scene-graph protocol (SG-IoU, Entity-IoU, Relation-IoU) and the
/// spatial rubric. Results go through <see cref="SystemEvaluation"/>'s resumable store: one results.jsonl line per
/// record, appended as it finishes, with the record's token usage and cost; a record whose server failed after every
/// retry is written to errors.jsonl instead, so a rerun tries it again (and gets what did succeed from the cache).
/// </summary>
public sealed partial class LaionSgEvaluation(SystemComponents components, SceneGraphJudge sceneGraphJudge, SpatialJudge spatialJudge, LaionSgEvaluationOptions? options = null)
{
    public const string ErrorsFile = "errors.jsonl";

    readonly object appendGate = new();

    public LaionSgEvaluationOptions Options { get; } = (options ?? new LaionSgEvaluationOptions()).Validate();

    /// <summary>
    /// A file-name stem for an img_id: the id itself when it is a plain name, else a hash of it (img_ids are data, never paths).
    /// </summary>
    public static string FileStem(string imgId) =>
        SafeName().IsMatch(imgId) ? imgId : "id-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(imgId)))[..16];

    /// <summary>Runs every record not in <paramref name="done"/>, streaming them from <paramref name="records"/>; <paramref name="images"/> gives a record's first image instead of the Diffuser (null: generate).</summary>
    public async Task<LaionSgRunResult> RunAsync(string folder, IEnumerable<LaionSgRecord> records, HashSet<(string ImgId, int Seed)> done,
        Func<LaionSgRecord, Image<Rgb24>>? images = null, IProgress<LaionSgRunResult>? progress = null, CancellationToken cancellationToken = default)
    {
        var (judged, failed) = (0, 0);
        var usage = new UsageMeter();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.Concurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(records.Where(r => !done.Contains((r.ImgId, Options.Seed))), parallel, async (record, ct) =>
        {
            var mine = new UsageMeter();
            JsonObject line;
            using (UsageMeter.Scope(mine))
            {
                try { line = await RunOne(folder, record, images, ct); }
                catch (Exception e) when (e is RemoteBackendException or IOException or UnknownImageFormatException or InvalidImageContentException)
                {
                    // A server that kept failing, or a record's own image that cannot be read: this record only.
                    line = new JsonObject { ["img_id"] = record.ImgId, ["seed"] = Options.Seed, ["error"] = e.Message, ["usage"] = mine.Total.ToJson() };
                    usage.Add(mine.Total);
                    lock (appendGate)
                    {
                        SystemEvaluation.Append(folder, [line], ErrorsFile);
                        failed++;
                        progress?.Report(new LaionSgRunResult(judged, failed, usage.Total));
                    }
                    return;
                }
            }
            line["usage"] = mine.Total.ToJson();
            usage.Add(mine.Total);
            lock (appendGate)
            {
                SystemEvaluation.Append(folder, [line]);
                judged++;
                progress?.Report(new LaionSgRunResult(judged, failed, usage.Total));
            }
        });
        return new LaionSgRunResult(judged, failed, usage.Total);
    }

    async Task<JsonObject> RunOne(string folder, LaionSgRecord record, Func<LaionSgRecord, Image<Rgb24>>? images, CancellationToken ct)
    {
        var target = record.ToSceneGraph();
        var diffuser = images is null ? components.Diffuser : new GivenImage(images(record));
        var loop = new GenerateReflectEditLoop(diffuser, components.Checker,
            components.Actor ?? throw new InvalidOperationException("the loop needs an Actor"), components.Editor ?? throw new InvalidOperationException("the loop needs an editor"),
            new LoopOptions { MaxRounds = Options.Rounds });
        using var trace = (await loop.RunAsync([new GenerationRequest(target, Options.Seed)], ct))[0];
        var stem = FileStem(record.ImgId);
        var rounds = new JsonArray();
        foreach (var r in trace.Rounds)
        {
            var relative = $"{SystemEvaluation.ImagesFolder}/{stem}-s{Options.Seed}-r{r.Round}.png";
            AtomicFile.Write(Path.Combine(folder, relative), s => r.Image.SaveAsPng(s));
            rounds.Add(new JsonObject
            {
                ["round"] = r.Round, ["image"] = relative, ["nfe"] = r.Nfe,
                ["instruction"] = r.Proposal?.Text,
                ["instruction_invalid"] = r.Proposal?.Instruction is InvalidEdit bad ? bad.Reason : null,
                ["edit_failure"] = r.EditFailure,
                ["checker_score"] = r.Score, ["checker_satisfied"] = r.Reflection.IsSatisfied,
                ["checker_failure"] = r.Reflection.Failure?.Reason, ["checker_raw_reply"] = r.Reflection.Failure?.RawText,
                ["reflection"] = r.Reflection.Text,
            });
        }
        var best = trace.Best;
        var final = await Judge(best.Image, target, ct);
        var first = trace.BestRound == 0 ? (JsonObject)final.DeepClone() : await Judge(trace.Rounds[0].Image, target, ct);
        return new JsonObject
        {
            ["img_id"] = record.ImgId, ["seed"] = Options.Seed,
            ["prompt"] = target.ToPromptText(), ["caption"] = record.CaptionOri,
            ["relation_count"] = target.Relations.Count,
            ["image"] = rounds[trace.BestRound]!["image"]!.GetValue<string>(),
            ["best_round"] = trace.BestRound, ["rounds"] = trace.EditRounds, ["nfe"] = trace.TotalNfe,
            ["checker"] = new JsonObject { ["score"] = best.Reflection.Score, ["satisfied"] = best.Reflection.IsSatisfied },
            ["judge"] = final, ["judge_first"] = first,
            ["judge_model"] = sceneGraphJudge.Client.Endpoint.Describe(),
            ["trace"] = rounds,
        };
    }

    async Task<JsonObject> Judge(Image<Rgb24> image, SceneGraph target, CancellationToken ct)
    {
        var graph = sceneGraphJudge.JudgeAsync(image, target, ct);
        var spatial = spatialJudge.JudgeAsync(image, target, ct);
        return new JsonObject { ["scene_graph"] = (await graph).ToJson(), ["spatial"] = (await spatial).ToJson() };
    }

    // A record's own image as the loop's first image (the Diffuser's place): handed over once, as the loop disposes it.
    sealed class GivenImage(Image<Rgb24> image) : IDiffuser
    {
        public Task<IReadOnlyList<GeneratedImage>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<GeneratedImage>>([new GeneratedImage(image, 0)]);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SafeName();
}
