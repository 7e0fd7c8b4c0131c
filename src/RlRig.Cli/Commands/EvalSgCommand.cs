using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.LaionSg;
using RlRig.Metrics;

namespace RlRig.Cli.Commands;

/// <summary>
/// <c>rlrig eval-sg --truth T.json --pred P.json [--out R.json]</c>: SG-IoU, Entity-IoU and Relation-IoU of a prediction
/// file against a ground-truth file (both LAION-SG, matched by img_id), as a table and optionally as JSON.
/// </summary>
public static class EvalSgCommand
{
    const string Name = "rlrig eval-sg";

    public static Command Create()
    {
        var truth = new Option<string>("--truth")
        {
            Description = "Ground-truth LAION-SG file (a JSON array of records).",
            Required = true,
        };
        var prediction = new Option<string>("--pred")
        {
            Description = "Predicted scene graphs in the same schema, e.g. what a VLM extracted from generated images.",
            Required = true,
        };
        var output = new Option<string?>("--out") { Description = "Also write the scores as JSON to this file." };
        var command = new Command("eval-sg",
            "Score predicted scene graphs against ground truth (LAION-SG files matched by img_id): per-record and mean SG-IoU, Entity-IoU, Relation-IoU.")
        {
            truth, prediction, output,
        };
        command.SetAction(result => Run(result.GetValue(truth)!, result.GetValue(prediction)!, result.GetValue(output)));
        return command;
    }

    static int Run(string truthPath, string predictionPath, string? outPath)
    {
        foreach (var problem in new[] { CommandFiles.ProblemWithInput(truthPath, "truth file"), CommandFiles.ProblemWithInput(predictionPath, "prediction file") })
        {
            if (problem is null) continue;
            Console.Error.WriteLine($"{Name}: {problem}");
            return ExitCodes.UsageOrIo;
        }
        if (outPath is not null)
            OutputPolicy.RequireFile(outPath, "--out", new CommandInput(truthPath, "--truth"), new CommandInput(predictionPath, "--pred"));

        SceneGraphEvaluationResult result;
        try
        {
            result = SceneGraphEvaluation.Evaluate(truthPath, predictionPath);
        }
        catch (LaionSgFormatException e)
        {
            Console.Error.WriteLine($"{Name}: {e.Message}");
            Console.Error.WriteLine($"{Name}: run `rlrig laion-sg validate {TerminalText.Escape(e.FileName ?? "FILE")}` to list every invalid record");
            return ExitCodes.InvalidData;
        }
        catch (Exception e) when (CommandFiles.IsIo(e))
        {
            Console.Error.WriteLine($"{Name}: cannot read the input: {TerminalText.Escape(e.Message)}");
            return ExitCodes.UsageOrIo;
        }

        Console.Write(Table(result, truthPath, predictionPath));
        if (outPath is null) return ExitCodes.Ok;
        try
        {
            AtomicFile.WriteAllText(outPath, Json(result, truthPath, predictionPath));
        }
        catch (Exception e) when (CommandFiles.IsIo(e))
        {
            Console.Error.WriteLine($"{Name}: {CommandFiles.IoProblem("cannot write", outPath, e)}");
            return ExitCodes.UsageOrIo;
        }
        Console.WriteLine($"Wrote {outPath}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The report printed to the console: one row per matched record, the two means, then what did not match. Every
    /// img_id is escaped (<see cref="TerminalText"/>): it comes from the files and must not forge a line of the report.
    /// </summary>
    public static string Table(SceneGraphEvaluationResult result, string truthPath, string predictionPath)
    {
        var rows = result.Records.Select(r => (TerminalText.Escape(r.ImgId), (SceneGraphMeans?)new SceneGraphMeans(r.SgIou, r.EntityIou, r.RelationIou))).ToList();
        var meanRows = new List<(string, SceneGraphMeans?)>
        {
            ($"mean of {result.Matched} matched", result.Mean),
            // Scoring missing predictions as 0 keeps a model from gaining by skipping hard prompts.
            ($"mean of {result.TruthRecords} truth (missing = 0)", result.MeanMissingAsZero),
        };
        int width = rows.Concat(meanRows).Select(r => r.Item1.Length).Append("img_id".Length).Max();

        var sb = new StringBuilder();
        sb.AppendLine($"truth:      {TerminalText.Escape(truthPath)} ({Count(result.TruthRecords, "record")})");
        sb.AppendLine($"prediction: {TerminalText.Escape(predictionPath)} ({Count(result.PredictionRecords, "record")})");
        sb.AppendLine();
        sb.AppendLine($"{"img_id".PadRight(width)}  {"SG-IoU",8}  {"Entity-IoU",10}  {"Relation-IoU",12}");
        foreach (var row in rows) AppendRow(sb, row, width);
        sb.AppendLine(new string('-', width + 38));
        foreach (var row in meanRows) AppendRow(sb, row, width);
        sb.AppendLine();
        sb.AppendLine(IdList("missing in prediction", result.MissingInPrediction));
        sb.AppendLine(IdList("missing in truth", result.MissingInTruth));
        if (result.DuplicateImgIds.Count > 0)
            sb.AppendLine(IdList("duplicate img_ids (only the first of each was scored)", result.DuplicateImgIds));
        return sb.ToString();
    }

    static void AppendRow(StringBuilder sb, (string Label, SceneGraphMeans? Scores) row, int width) =>
        sb.AppendLine($"{row.Label.PadRight(width)}  {Score(row.Scores?.SgIou),8}  {Score(row.Scores?.EntityIou),10}  {Score(row.Scores?.RelationIou),12}");

    // Means are null when there is nothing to average; "n/a" says so where 0 would claim a score.
    static string Score(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    static string IdList(string what, IReadOnlyList<string> ids) =>
        $"{what} ({ids.Count}): {(ids.Count == 0 ? "none" : string.Join(", ", ids.Select(TerminalText.Escape)))}";

    /// <summary>The JSON written by <c>--out</c>: the two paths, then the evaluation result as the Kernel serialises it.</summary>
    public static string Json(SceneGraphEvaluationResult result, string truthPath, string predictionPath)
    {
        var node = new JsonObject { ["Truth"] = truthPath, ["Prediction"] = predictionPath };
        foreach (var (key, value) in JsonSerializer.SerializeToNode(result)!.AsObject()) node[key] = value?.DeepClone();
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
