using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.Metrics;
using RlRig.World;

namespace RlRig.Loop.Evaluation;

/// <summary>A figure over seeds: the mean of the per-seed values and their sample standard deviation (0 for one seed).</summary>
public sealed record SeedSpread(double Mean, double Std, IReadOnlyList<double> PerSeed)
{
    public static SeedSpread Of(IReadOnlyList<double> values)
    {
        var mean = values.Count == 0 ? double.NaN : values.Average();
        var std = values.Count < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SeedSpread(mean, std, values);
    }
}

/// <summary>The judge's figures of one group (all prompts, or those with k relations), each as mean and spread over seeds.</summary>
public sealed record JudgeRow(string Group, int Images, SeedSpread Objects, SeedSpread Sizes, SeedSpread Relations, SeedSpread Placement, SeedSpread Perfect,
    SeedSpread ExtraPerImage, SeedSpread SgIou);

/// <summary>The Checker's view of the same group, never mixed with the judge's: its mean score and how often it was satisfied.</summary>
public sealed record CheckerRow(string Group, SeedSpread Score, SeedSpread Satisfied);

/// <summary>
/// Where the loop's gains and losses come from, over every (prompt, seed): how the judge's verdict moved from the first
/// image to the kept one, and what went wrong along the way.
/// </summary>
/// <param name="CheckerStoppedWrong">The Checker was satisfied with the first image but the judge found it imperfect: no edit was tried.</param>
/// <param name="CheckerDoubtedRight">The judge found the first image perfect but the Checker asked for an edit.</param>
/// <param name="InvalidInstructions">Instructions that did not parse.</param>
/// <param name="FailedEdits">Instructions the editor could not carry out (no such object, no free place).</param>
/// <param name="EditsImproving">Edits after which the judge counted more correct relations than before.</param>
/// <param name="EditsWorsening">Edits after which the judge counted fewer correct relations or fewer correct objects.</param>
public sealed record LoopBreakdown(int Runs, int Improved, int Worsened, int CheckerStoppedWrong, int CheckerDoubtedRight, int Edits, int InvalidInstructions,
    int FailedEdits, int EditsImproving, int EditsWorsening, int EditsNeutral);

/// <summary>
/// The loop stopped after k edit rounds, read off a run with more: the image kept is the best by the Checker's score
/// among the first k + 1 (earliest on ties), exactly what a run with <c>--rounds k</c> keeps, since round r draws the
/// same noise whatever the limit. The judge's figures of that image, by number of relations, and the compute used.
/// </summary>
public sealed record RoundsRow(int Rounds, SeedSpread MeanNfe, IReadOnlyDictionary<string, SeedSpread> Objects, IReadOnlyDictionary<string, SeedSpread> Relations,
    SeedSpread Perfect);

/// <summary>The summary of a results folder: judge rows, Checker rows, mean NFE and rounds, and the loop's breakdown and rounds table.</summary>
public sealed record SystemSummary(IReadOnlyDictionary<string, string> Arguments, IReadOnlyList<int> Seeds, IReadOnlyList<JudgeRow> Judge, IReadOnlyList<CheckerRow> Checker,
    double MeanNfe, double MeanRounds, LoopBreakdown? Loop, IReadOnlyList<RoundsRow>? ByRounds = null)
{
    /// <summary>Reads every line of a results folder's results.jsonl.</summary>
    public static SystemSummary Read(string folder, IReadOnlyDictionary<string, string> arguments)
    {
        var lines = File.ReadAllLines(Path.Combine(folder, SystemEvaluation.ResultsFile)).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        return Of(lines, arguments);
    }

    public static SystemSummary Of(IReadOnlyList<JsonObject> lines, IReadOnlyDictionary<string, string> arguments)
    {
        var seeds = lines.Select(l => l["seed"]!.GetValue<int>()).Distinct().Order().ToList();
        var groups = lines.GroupBy(l => l["relation_count"]!.GetValue<int>()).OrderBy(g => g.Key)
            .Select(g => (Name: g.Key.ToString(CultureInfo.InvariantCulture), Lines: g.ToList())).Append((Name: "all", Lines: lines.ToList())).ToList();
        var judge = groups.Select(g =>
        {
            var perSeed = seeds.Select(s => DiffuserEvaluation.Figures(g.Lines.Where(l => l["seed"]!.GetValue<int>() == s).Select(Verdict).ToList())).ToList();
            SeedSpread S(Func<QualityFigures, double> f) => SeedSpread.Of(perSeed.Select(f).ToList());
            return new JudgeRow(g.Name, g.Lines.Count, S(f => f.ObjectAccuracy), S(f => f.SizeAccuracy), S(f => f.RelationAccuracy), S(f => f.PlacementAccuracy),
                S(f => f.PerfectImages), S(f => f.ExtraObjectsPerImage), S(f => f.SgIou));
        }).ToList();
        var checker = groups.Select(g =>
        {
            SeedSpread S(Func<JsonNode, double> f) => SeedSpread.Of(seeds.Select(s => g.Lines.Where(l => l["seed"]!.GetValue<int>() == s).Average(l => f(l["checker"]!))).ToList());
            return new CheckerRow(g.Name, S(c => c["score"]!.GetValue<double>()), S(c => c["satisfied"]!.GetValue<bool>() ? 1 : 0));
        }).ToList();
        var traced = lines.All(l => l["trace"] is JsonArray) && lines.Count > 0;
        return new SystemSummary(arguments, seeds, judge, checker, lines.Average(l => l["nfe"]!.GetValue<double>()), lines.Average(l => l["rounds"]!.GetValue<double>()),
            traced ? Breakdown(lines) : null, traced ? Rounds(lines, seeds) : null);
    }

    static IReadOnlyList<RoundsRow> Rounds(IReadOnlyList<JsonObject> lines, IReadOnlyList<int> seeds)
    {
        var most = lines.Max(l => l["trace"]!.AsArray().Count) - 1;
        var rows = new List<RoundsRow>();
        for (var k = 0; k <= most; k++)
        {
            // (seed, relation count, objects, correct objects, relations, correct relations, perfect, NFE) of the image kept after k rounds.
            var kept = lines.Select(l =>
            {
                var steps = l["trace"]!.AsArray().Take(k + 1).Select(st => st!).ToList();
                var best = steps.Select((st, i) => (st, i)).OrderByDescending(x => x.st["checker_score"]!.GetValue<double>()).ThenBy(x => x.i).First().st;
                var judge = l["judge"]!;
                return (Seed: l["seed"]!.GetValue<int>(), Count: l["relation_count"]!.GetValue<int>(), Objects: judge["objects"]!.GetValue<int>(),
                    ObjectsCorrect: best["judge_objects_correct"]!.GetValue<int>(), Relations: judge["relations"]!.GetValue<int>(),
                    RelationsCorrect: best["judge_relations_correct"]!.GetValue<int>(), Perfect: best["judge_perfect"]!.GetValue<bool>(), Nfe: steps.Sum(st => st["nfe"]!.GetValue<int>()));
            }).ToList();
            var groups = kept.Select(x => x.Count).Distinct().Order().Select(c => c.ToString(CultureInfo.InvariantCulture)).Append("all").ToList();
            bool In(string g, int count) => g == "all" || g == count.ToString(CultureInfo.InvariantCulture);
            SeedSpread Ratio(string g, Func<(int Seed, int Count, int Objects, int ObjectsCorrect, int Relations, int RelationsCorrect, bool Perfect, int Nfe), int> part,
                Func<(int Seed, int Count, int Objects, int ObjectsCorrect, int Relations, int RelationsCorrect, bool Perfect, int Nfe), int> whole) =>
                SeedSpread.Of(seeds.Select(s => kept.Where(x => x.Seed == s && In(g, x.Count)).ToList())
                    .Select(v => v.Sum(part) / (double)Math.Max(1, v.Sum(whole))).ToList());
            rows.Add(new RoundsRow(k, SeedSpread.Of(seeds.Select(s => kept.Where(x => x.Seed == s).Average(x => (double)x.Nfe)).ToList()),
                groups.ToDictionary(g => g, g => Ratio(g, x => x.ObjectsCorrect, x => x.Objects)),
                groups.ToDictionary(g => g, g => Ratio(g, x => x.RelationsCorrect, x => x.Relations)),
                SeedSpread.Of(seeds.Select(s => kept.Where(x => x.Seed == s).Average(x => x.Perfect ? 1.0 : 0.0)).ToList())));
        }
        return rows;
    }

    static ImageVerdict Verdict(JsonObject line)
    {
        var j = line["judge"]!;
        int I(string k) => j[k]!.GetValue<int>();
        var score = new PromptScore(I("objects"), I("objects_correct"), I("sizes_correct"), I("relations"), I("relations_correct"), I("extra_objects"), I("relations_with_objects"));
        return new ImageVerdict(line["img_id"]!.GetValue<string>(), line["seed"]!.GetValue<int>(), line["prompt"]!.GetValue<string>(), j["read"]!.GetValue<string>(), score,
            new SceneGraphScores(j["sg_iou"]!.GetValue<double>(), j["entity_iou"]!.GetValue<double>(), j["relation_iou"]!.GetValue<double>()));
    }

    static LoopBreakdown Breakdown(IReadOnlyList<JsonObject> lines)
    {
        int improved = 0, worsened = 0, stoppedWrong = 0, doubtedRight = 0, edits = 0, invalid = 0, failed = 0, up = 0, down = 0, neutral = 0;
        foreach (var line in lines)
        {
            var steps = line["trace"]!.AsArray().Select(s => s!).ToList();
            var first = steps[0];
            var finalRelations = line["judge"]!["relations_correct"]!.GetValue<int>();
            var finalObjects = line["judge"]!["objects_correct"]!.GetValue<int>();
            var (r0, o0) = (first["judge_relations_correct"]!.GetValue<int>(), first["judge_objects_correct"]!.GetValue<int>());
            if (finalRelations > r0 && finalObjects >= o0) improved++;
            else if (finalRelations < r0 || finalObjects < o0) worsened++;
            if (first["checker_satisfied"]!.GetValue<bool>() && !first["judge_perfect"]!.GetValue<bool>()) stoppedWrong++;
            if (!first["checker_satisfied"]!.GetValue<bool>() && first["judge_perfect"]!.GetValue<bool>()) doubtedRight++;
            for (var k = 1; k < steps.Count; k++)
            {
                edits++;
                var failure = steps[k]["failure"]?.GetValue<string>();
                if (failure is not null)
                {
                    if (failure.StartsWith("the instruction does not parse", StringComparison.Ordinal)) invalid++; else failed++;
                    continue;
                }
                var (before, after) = (steps[k - 1], steps[k]);
                int R(JsonNode s) => s["judge_relations_correct"]!.GetValue<int>();
                int O(JsonNode s) => s["judge_objects_correct"]!.GetValue<int>();
                if (R(after) < R(before) || O(after) < O(before)) down++;
                else if (R(after) > R(before) || O(after) > O(before)) up++;
                else neutral++;
            }
        }
        return new LoopBreakdown(lines.Count, improved, worsened, stoppedWrong, doubtedRight, edits, invalid, failed, up, down, neutral);
    }

    /// <summary>The summary as a Markdown page.</summary>
    public string ToMarkdown()
    {
        static string P(SeedSpread s) => string.Create(CultureInfo.InvariantCulture, $"{100 * s.Mean:0.0} ± {100 * s.Std:0.0} %");
        static string F(SeedSpread s) => string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.000} ± {s.Std:0.000}");
        var md = new StringBuilder();
        md.AppendLine("# System evaluation").AppendLine();
        md.AppendLine(string.Join(", ", Arguments.OrderBy(a => a.Key).Select(a => $"`{a.Key}` {a.Value}"))).AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Seeds {string.Join(", ", Seeds)}; mean NFE per prompt **{MeanNfe:0.0}**; mean edit rounds {MeanRounds:0.00}. Figures are the mean ± standard deviation over seeds."));
        md.AppendLine().AppendLine("## The judge").AppendLine();
        md.AppendLine("| relations | images | objects | sizes | relation accuracy | placement | perfect | extra/img | SG-IoU |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Judge)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Group} | {r.Images} | {P(r.Objects)} | {P(r.Sizes)} | {P(r.Relations)} | {P(r.Placement)} | {P(r.Perfect)} | {F(r.ExtraPerImage)} | {F(r.SgIou)} |"));
        md.AppendLine().AppendLine("## The Checker (the system's own view, not a result)").AppendLine();
        md.AppendLine("| relations | mean score | satisfied |").AppendLine("|---|---|---|");
        foreach (var r in Checker) md.AppendLine($"| {r.Group} | {F(r.Score)} | {P(r.Satisfied)} |");
        if (ByRounds is { Count: > 0 } byRounds)
        {
            var groups = byRounds[0].Relations.Keys.ToList();
            md.AppendLine().AppendLine("## The loop stopped after k rounds (judge; read off this run: the best of the first k + 1 images by the Checker's score)").AppendLine();
            md.AppendLine("| k | mean NFE | " + string.Join(" | ", groups.Select(g => $"relations ({g})")) + " | objects (all) | perfect |");
            md.AppendLine("|---" + string.Concat(Enumerable.Repeat("|---", groups.Count + 3)) + "|");
            foreach (var r in byRounds)
                md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Rounds} | {r.MeanNfe.Mean:0.0} | ") + string.Join(" | ", groups.Select(g => P(r.Relations[g])))
                    + $" | {P(r.Objects["all"])} | {P(r.Perfect)} |");
        }
        if (Loop is { } b)
        {
            md.AppendLine().AppendLine("## Where the loop gains and loses (judge, first image vs kept image)").AppendLine();
            md.AppendLine($"- runs: {b.Runs}; improved (more correct relations, no fewer objects): {b.Improved}; worsened: {b.Worsened}");
            md.AppendLine($"- the Checker was satisfied with an image the judge finds imperfect (no edit tried): {b.CheckerStoppedWrong}; asked to edit an image the judge finds perfect: {b.CheckerDoubtedRight}");
            md.AppendLine($"- edits tried: {b.Edits}; instructions that did not parse: {b.InvalidInstructions}; that the editor could not carry out: {b.FailedEdits}");
            md.AppendLine($"- edits the judge saw help: {b.EditsImproving}; hurt (fewer correct relations or objects): {b.EditsWorsening}; change nothing it counts: {b.EditsNeutral}");
        }
        return md.ToString();
    }
}
