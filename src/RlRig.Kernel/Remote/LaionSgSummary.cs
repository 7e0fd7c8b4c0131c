using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.Loop.Evaluation;

namespace RlRig.Remote;

/// <summary>The LAION-SG judge's mean scores of one set of images (the kept ones, or the loop's first ones).</summary>
public sealed record LaionSgScores(double SgIou, double EntityIou, double RelationIou, double? Spatial, int SpatialJudged, int SceneGraphUnparsed, int SpatialUnparsed);

/// <summary>
/// The summary of a LAION-SG run folder, read from results.jsonl and errors.jsonl: the judge's figures for the kept
/// images and for the first ones (what the loop added), the loop's counts, and the tokens and cost spent. Unparsed
/// judge replies score 0 and are counted beside the figures.
/// </summary>
public sealed record LaionSgSummary(IReadOnlyDictionary<string, string> Arguments, int Records, int Failed, LaionSgScores Final, LaionSgScores First,
    double MeanRounds, double MeanNfe, int Edits, int InvalidInstructions, int FailedEdits, int CheckerUnparsed, IReadOnlyList<string> JudgeModels, Usage Usage)
{
    /// <exception cref="ArgumentException">A line of results.jsonl is not a LAION-SG result (named).</exception>
    public static LaionSgSummary Read(string folder, IReadOnlyDictionary<string, string> arguments)
    {
        var lines = Lines(Path.Combine(folder, SystemEvaluation.ResultsFile));
        var done = lines.Select(l => l["img_id"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var errors = Lines(Path.Combine(folder, LaionSgEvaluation.ErrorsFile));
        var failed = errors.Select(e => e["img_id"]!.GetValue<string>()).Where(id => !done.Contains(id)).Distinct().Count();
        var usage = lines.Concat(errors).Select(l => l["usage"] as JsonObject).OfType<JsonObject>().Aggregate(Usage.None, (sum, u) => sum.Plus(UsageOf(u)));
        var rounds = lines.SelectMany(l => l["trace"]!.AsArray().OfType<JsonObject>().Skip(1)).ToList();
        return new LaionSgSummary(arguments, lines.Count, failed,
            Scores(lines.Select(l => l["judge"]!.AsObject()).ToList()), Scores(lines.Select(l => l["judge_first"]!.AsObject()).ToList()),
            Mean(lines.Select(l => (double)l["rounds"]!.GetValue<int>())), Mean(lines.Select(l => (double)l["nfe"]!.GetValue<int>())),
            rounds.Count, rounds.Count(r => r["instruction_invalid"] is not null), rounds.Count(r => r["instruction_invalid"] is null && r["edit_failure"] is not null),
            lines.SelectMany(l => l["trace"]!.AsArray().OfType<JsonObject>()).Count(r => r["checker_failure"] is not null),
            lines.Select(l => l["judge_model"]?.GetValue<string>()).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList(), usage);
    }

    static LaionSgScores Scores(List<JsonObject> judged)
    {
        var graphs = judged.Select(j => j["scene_graph"]!.AsObject()).ToList();
        var spatial = judged.Select(j => j["spatial"]!.AsObject()).ToList();
        var scored = spatial.Select(s => s["score"]?.GetValue<double>()).OfType<double>().ToList();
        return new LaionSgScores(Mean(graphs.Select(g => g["sg_iou"]!.GetValue<double>())), Mean(graphs.Select(g => g["entity_iou"]!.GetValue<double>())),
            Mean(graphs.Select(g => g["relation_iou"]!.GetValue<double>())), scored.Count == 0 ? null : scored.Average(), scored.Count,
            graphs.Count(g => g["failure"] is not null), spatial.Count(s => s["failure"] is not null));
    }

    static Usage UsageOf(JsonObject u) => new(Long(u, "requests"), Long(u, "cache_hits"), Long(u, "failures"), Long(u, "unparsed_replies"),
        Long(u, "input_tokens"), Long(u, "output_tokens"), u["cost"]?.GetValue<double>() ?? 0);

    static long Long(JsonObject o, string key) => o[key]?.GetValue<long>() ?? 0;

    static double Mean(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }

    static List<JsonObject> Lines(string path)
    {
        if (!File.Exists(path)) return [];
        var result = new List<JsonObject>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try { result.Add(JsonNode.Parse(text) as JsonObject ?? throw new System.Text.Json.JsonException("not an object")); }
            catch (System.Text.Json.JsonException e) { throw new ArgumentException($"{path}: line {number} is not a result ({e.Message})"); }
        }
        return result;
    }

    public string ToMarkdown()
    {
        string F(double v) => double.IsNaN(v) ? "-" : v.ToString("0.000", CultureInfo.InvariantCulture);
        string S(LaionSgScores s) => $"{F(s.SgIou)} | {F(s.EntityIou)} | {F(s.RelationIou)} | {(s.Spatial is { } v ? F(v) : "-")} | {s.SceneGraphUnparsed} / {s.SpatialUnparsed}";
        var md = new StringBuilder();
        md.AppendLine("# LAION-SG evaluation").AppendLine();
        md.AppendLine(string.Join(", ", Arguments.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"`{a.Key}` {a.Value}"))).AppendLine();
        md.AppendLine($"Records judged: **{Records}**; failed (in errors.jsonl, retried by a rerun): {Failed}. Judged by: {(JudgeModels.Count == 0 ? "-" : string.Join(", ", JudgeModels))}.").AppendLine();
        md.AppendLine("| images | SG-IoU | Entity-IoU | Relation-IoU | spatial (rubric) | unparsed judge replies (graph / spatial) |");
        md.AppendLine("|---|---|---|---|---|---|");
        md.AppendLine($"| kept by the loop | {S(Final)} |");
        md.AppendLine($"| first (the Diffuser's) | {S(First)} |");
        md.AppendLine().AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Loop: mean edit rounds {MeanRounds:0.00}; edits tried {Edits}; instructions that did not parse {InvalidInstructions}; edits the editor could not make {FailedEdits}; Checker replies that did not parse {CheckerUnparsed}. Mean NFE per record {(MeanNfe > 0 ? MeanNfe.ToString("0.0", CultureInfo.InvariantCulture) : "unknown (the images API does not report it; set --image-nfe)")}."));
        md.AppendLine().AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Usage: {Usage.Requests} requests answered by servers, {Usage.CacheHits} from the cache, {Usage.Failures} failed after every retry; {Usage.InputTokens} input and {Usage.OutputTokens} output tokens; cost ${Usage.Cost:0.0000}."));
        return md.ToString();
    }
}
