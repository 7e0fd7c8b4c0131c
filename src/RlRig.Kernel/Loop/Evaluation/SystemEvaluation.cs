using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Loop.Evaluation;

/// <summary>The systems <see cref="SystemEvaluation"/> compares.</summary>
public enum SystemKind { Diffuser, BestOfN, Loop }

/// <summary>An evaluation prompt: its id (LAION-SG img_id) and scene graph.</summary>
public sealed record EvaluationPrompt(string ImgId, SceneGraph Graph);

/// <summary>What is evaluated: the system, N for best-of-N, K for the loop.</summary>
public sealed record SystemSpec(SystemKind Kind, int N = 1, int Rounds = 0)
{
    public SystemSpec Validate()
    {
        if (N is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(N), N, "N must be 1 to 256");
        if (Rounds is < 0 or > 32) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "rounds must be 0 to 32");
        return this;
    }
}

/// <summary>The components a system uses; the loop needs all four, best-of-N the Diffuser and the Checker.</summary>
public sealed record SystemComponents(IDiffuser Diffuser, IChecker Checker, IActor? Actor = null, IInverseDiffuser? Editor = null);

/// <summary>
/// Runs a system on every (prompt, seed), judges each final image with the judge (never the Checker), and writes a
/// folder that resumes: <c>results.jsonl</c> (one line per (prompt, seed), appended as each chunk finishes),
/// <c>images/&lt;img_id&gt;-s&lt;seed&gt;.png</c>, sample traces under <c>traces/</c>, and <c>run.json</c> (the
/// arguments; a run on the same folder with other arguments is refused, naming the difference).
/// </summary>
public sealed class SystemEvaluation(SystemSpec spec, SystemComponents components, ShapesJudge judge)
{
    public const string ResultsFile = "results.jsonl", RunFile = "run.json", ImagesFolder = "images", TracesFolder = "traces";

    /// <summary>Traces kept for the report: the first prompts of the first seed.</summary>
    public int SampleTraces { get; init; } = 6;

    /// <summary>Prompts per lockstep batch (and per append to results.jsonl).</summary>
    public int ChunkSize { get; init; } = 50;

    /// <summary>The seed of sample <paramref name="sample"/> of prompt <paramref name="promptIndex"/> under evaluation seed
    /// <paramref name="seed"/>: sample 0 is the Diffuser-alone image, the loop's first image and best-of-N's first candidate.</summary>
    public static int ImageSeed(int seed, int promptIndex, int sample) => unchecked(seed * 1_000_003 + promptIndex * 256 + sample);

    /// <summary>
    /// Holds the folder for one run: a second run on it (another process) is refused while this one lives, so two
    /// runs never append the same results twice. Dispose to release it.
    /// </summary>
    /// <exception cref="ArgumentException">Another run holds the folder.</exception>
    public static IDisposable Lock(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, ".lock");
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose); }
        catch (IOException) { throw new ArgumentException($"{folder} is being written by another run (it holds {path}); wait for it or stop it first"); }
    }

    /// <summary>
    /// Checks the folder against <paramref name="arguments"/> (writing run.json if new) and returns the (img_id, seed)
    /// pairs already done. Call before any work, holding <see cref="Lock"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds a run with other arguments, or its results are damaged.</exception>
    public static HashSet<(string ImgId, int Seed)> Prepare(string folder, IReadOnlyDictionary<string, string> arguments)
    {
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(Path.Combine(folder, ImagesFolder));
        var runPath = Path.Combine(folder, RunFile);
        var wanted = new JsonObject(arguments.OrderBy(a => a.Key).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value)));
        if (File.Exists(runPath))
        {
            JsonObject stored;
            try { stored = JsonNode.Parse(File.ReadAllText(runPath)) as JsonObject ?? throw new JsonException("not an object"); }
            catch (JsonException e) { throw new ArgumentException($"{runPath}: not a run file ({e.Message}); use another --out folder"); }
            var differences = arguments.Keys.Union(stored.Select(s => s.Key)).Order()
                .Where(k => stored[k]?.GetValue<string>() != arguments.GetValueOrDefault(k))
                .Select(k => $"{k}: {stored[k]?.GetValue<string>() ?? "(none)"} there, {arguments.GetValueOrDefault(k) ?? "(none)"} now").ToList();
            if (differences.Count > 0)
                throw new ArgumentException($"{folder} holds a run with other arguments ({string.Join("; ", differences)}); use another --out folder or the same arguments to resume");
        }
        else AtomicFile.WriteAllText(runPath, wanted.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return ReadDone(Path.Combine(folder, ResultsFile));
    }

    // Completed lines; a last line cut short by a kill is dropped (the file is truncated to the last full line).
    static HashSet<(string, int)> ReadDone(string path)
    {
        var done = new HashSet<(string, int)>();
        if (!File.Exists(path)) return done;
        var bytes = File.ReadAllBytes(path);
        var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (end < bytes.Length) using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength(end);
        var lineNumber = 0;
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            lineNumber++;
            try
            {
                var json = JsonNode.Parse(line)!;
                done.Add((json["img_id"]!.GetValue<string>(), json["seed"]!.GetValue<int>()));
            }
            catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException)
            { throw new ArgumentException($"{path}: line {lineNumber} is not a result ({e.Message}); move the file away to start again"); }
        }
        return done;
    }

    /// <summary>
    /// Appends finished results to the folder's results.jsonl in one write, flushed to disk: a kill leaves at most a
    /// half-written last line, which <see cref="Prepare"/> drops. Each line needs "img_id" and "seed". Callers that append
    /// from several threads serialise the calls.
    /// </summary>
    public static void Append(string folder, IEnumerable<JsonObject> lines, string file = ResultsFile)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l.ToJsonString() + "\n")));
        using var stream = new FileStream(Path.Combine(folder, file), FileMode.Append, FileAccess.Write);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Runs what is not yet done, appending results; returns how many (prompt, seed) pairs it ran.</summary>
    public async Task<int> RunAsync(string folder, IReadOnlyList<EvaluationPrompt> prompts, IReadOnlyList<int> seeds, HashSet<(string ImgId, int Seed)> done,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var ran = 0;
        foreach (var seed in seeds)
        {
            var todo = prompts.Select((p, i) => (Prompt: p, Index: i)).Where(x => !done.Contains((x.Prompt.ImgId, seed))).ToList();
            foreach (var chunk in todo.Chunk(ChunkSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Append(folder, await RunChunk(folder, chunk, seed, seed == seeds[0], cancellationToken));
                ran += chunk.Length;
                progress?.Report(ran);
            }
        }
        return ran;
    }

    async Task<List<JsonObject>> RunChunk(string folder, (EvaluationPrompt Prompt, int Index)[] chunk, int seed, bool firstSeed, CancellationToken cancellationToken)
    {
        var requests = chunk.Select(c => new GenerationRequest(c.Prompt.Graph, ImageSeed(seed, c.Index, 0))).ToList();
        var lines = new List<JsonObject>();
        switch (spec.Kind)
        {
            case SystemKind.Diffuser:
            {
                var images = await components.Diffuser.GenerateAsync(requests, cancellationToken);
                var reflections = await components.Checker.ReflectAsync(images.Select(i => i.Image).ToList(), requests.Select(r => r.Target).ToList(), cancellationToken);
                for (var k = 0; k < chunk.Length; k++)
                    using (images[k].Image)
                        lines.Add(Line(folder, chunk[k].Prompt, seed, images[k].Image, images[k].Nfe, 0, reflections[k], null));
                break;
            }
            case SystemKind.BestOfN:
            {
                var candidates = Enumerable.Range(0, spec.N).SelectMany(j => chunk.Select(c => new GenerationRequest(c.Prompt.Graph, ImageSeed(seed, c.Index, j)))).ToList();
                var images = await components.Diffuser.GenerateAsync(candidates, cancellationToken);
                try
                {
                    var reflections = await components.Checker.ReflectAsync(images.Select(i => i.Image).ToList(), candidates.Select(r => r.Target).ToList(), cancellationToken);
                    for (var k = 0; k < chunk.Length; k++)
                    {
                        var mine = Enumerable.Range(0, spec.N).Select(j => j * chunk.Length + k).ToList();
                        var best = mine.OrderByDescending(m => reflections[m].Score).ThenBy(m => m).First();
                        var details = new JsonArray(mine.Select(m => (JsonNode)Step(chunk[k].Prompt.Graph, images[m].Image, reflections[m], m / chunk.Length, null, null, images[m].Nfe)).ToArray());
                        lines.Add(Line(folder, chunk[k].Prompt, seed, images[best].Image, mine.Sum(m => images[m].Nfe), 0, reflections[best], ("candidates", details)));
                    }
                }
                finally { foreach (var i in images) i.Image.Dispose(); }
                break;
            }
            case SystemKind.Loop:
            {
                var loop = new GenerateReflectEditLoop(components.Diffuser, components.Checker,
                    components.Actor ?? throw new InvalidOperationException("the loop needs an Actor"), components.Editor ?? throw new InvalidOperationException("the loop needs an editor"),
                    new LoopOptions { MaxRounds = spec.Rounds });
                var traces = await loop.RunAsync(requests, cancellationToken);
                for (var k = 0; k < chunk.Length; k++)
                    using (var trace = traces[k])
                    {
                        var steps = new JsonArray(trace.Rounds.Select(r => (JsonNode)Step(trace.Target, r.Image, r.Reflection, r.Round, r.Proposal?.Text, r.EditFailure, r.Nfe)).ToArray());
                        lines.Add(Line(folder, chunk[k].Prompt, seed, trace.Best.Image, trace.TotalNfe, trace.EditRounds, trace.Best.Reflection, ("trace", steps)));
                        if (firstSeed && chunk[k].Index < SampleTraces) LoopTraceFile.Save(trace, Path.Combine(folder, TracesFolder, $"{chunk[k].Prompt.ImgId}-s{seed}"));
                    }
                break;
            }
        }
        return lines;
    }

    JsonObject Line(string folder, EvaluationPrompt prompt, int seed, Image<Rgb24> image, int nfe, int rounds, Reflection checker, (string Key, JsonArray Value)? details)
    {
        var relative = $"{ImagesFolder}/{prompt.ImgId}-s{seed}.png";
        AtomicFile.Write(Path.Combine(folder, relative), s => image.SaveAsPng(s));
        var judged = judge.Parse(image);
        var score = PromptScore.Score(prompt.Graph, judged);
        var iou = DiffuserEvaluation.Iou(prompt.Graph, judged);
        var line = new JsonObject
        {
            ["img_id"] = prompt.ImgId,
            ["seed"] = seed,
            ["prompt"] = prompt.Graph.ToPromptText(),
            ["relation_count"] = prompt.Graph.Relations.Count,
            ["image"] = relative,
            ["nfe"] = nfe,
            ["rounds"] = rounds,
            ["judge"] = new JsonObject
            {
                ["read"] = judged.ToPromptText(),
                ["objects"] = score.Objects, ["objects_correct"] = score.ObjectsCorrect, ["sizes_correct"] = score.SizesCorrect,
                ["relations"] = score.Relations, ["relations_correct"] = score.RelationsCorrect, ["relations_with_objects"] = score.RelationsWithObjects,
                ["extra_objects"] = score.ExtraObjects, ["perfect"] = score.IsPerfect,
                ["sg_iou"] = iou.SgIou, ["entity_iou"] = iou.EntityIou, ["relation_iou"] = iou.RelationIou,
            },
            ["checker"] = new JsonObject { ["score"] = checker.Score, ["satisfied"] = checker.IsSatisfied, ["read"] = checker.Detected.ToPromptText() },
        };
        if (details is { } d) line[d.Key] = d.Value;
        return line;
    }

    // One candidate or round: what the Checker and the judge each made of it, so a loss can be traced to its cause.
    JsonObject Step(SceneGraph target, Image<Rgb24> image, Reflection reflection, int index, string? instruction, string? failure, int nfe)
    {
        var score = PromptScore.Score(target, judge.Parse(image));
        return new JsonObject
        {
            ["index"] = index, ["instruction"] = instruction, ["failure"] = failure, ["nfe"] = nfe,
            ["checker_score"] = reflection.Score, ["checker_satisfied"] = reflection.IsSatisfied,
            ["judge_objects_correct"] = score.ObjectsCorrect, ["judge_relations_correct"] = score.RelationsCorrect, ["judge_perfect"] = score.IsPerfect,
        };
    }
}
