using RlRig.LaionSg;

namespace RlRig.Metrics;

/// <summary>Scores of one img_id present on both sides.</summary>
public sealed record SceneGraphRecordScore(string ImgId, double SgIou, double EntityIou, double RelationIou);

/// <summary>Means of the three scores over a set of records.</summary>
public sealed record SceneGraphMeans(double SgIou, double EntityIou, double RelationIou);

/// <summary>
/// Outcome of <see cref="SceneGraphEvaluation.Evaluate(IEnumerable{LaionSgRecord}, IEnumerable{LaionSgRecord})"/>;
/// serialises to JSON as is (means are null rather than NaN when nothing matched).
/// </summary>
/// <param name="TruthRecords">Ground-truth records read (first of each img_id).</param>
/// <param name="PredictionRecords">Prediction records read (first of each img_id).</param>
/// <param name="Matched">img_ids found on both sides; the length of <paramref name="Records"/>.</param>
/// <param name="Mean">Means over the matched records; null when none matched.</param>
/// <param name="MeanMissingAsZero">
/// Means over every ground-truth record, a missing prediction scoring 0 on all three, so that dropping hard cases
/// does not pay; null when there is no ground truth.
/// </param>
/// <param name="Records">One row per matched img_id, in ground-truth order.</param>
/// <param name="MissingInPrediction">Ground-truth img_ids with no prediction, in ground-truth order.</param>
/// <param name="MissingInTruth">Prediction img_ids with no ground truth, in prediction order.</param>
/// <param name="DuplicateImgIds">img_ids met twice on one side ("truth:ID" or "prediction:ID") of in-memory records; only the first counts. Always empty when evaluating files, where a duplicate is an invalid record (<see cref="LaionSgReadOptions.RejectDuplicateImgIds"/>).</param>
public sealed record SceneGraphEvaluationResult(
    int TruthRecords,
    int PredictionRecords,
    int Matched,
    SceneGraphMeans? Mean,
    SceneGraphMeans? MeanMissingAsZero,
    IReadOnlyList<SceneGraphRecordScore> Records,
    IReadOnlyList<string> MissingInPrediction,
    IReadOnlyList<string> MissingInTruth,
    IReadOnlyList<string> DuplicateImgIds);

/// <summary>
/// Scores a prediction file against a ground-truth file, both LAION-SG, records matched by img_id. A prediction
/// record stands for what a VLM extracted from the generated image: its triples are (label(item1), relation,
/// label(item2)), its object list all its item labels, its predicate list all its relation names
/// (see <see cref="SceneGraphIou"/>).
/// </summary>
public static class SceneGraphEvaluation
{
    /// <summary>
    /// Evaluates the records. The predictions are held in memory (by img_id); the ground truth streams.
    /// </summary>
    public static SceneGraphEvaluationResult Evaluate(IEnumerable<LaionSgRecord> truth, IEnumerable<LaionSgRecord> prediction)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(prediction);
        var duplicates = new List<string>();
        var predictions = new Dictionary<string, LaionSgRecord>(StringComparer.Ordinal);
        var predictionOrder = new List<string>();
        foreach (LaionSgRecord p in prediction)
        {
            if (predictions.TryAdd(p.ImgId, p)) predictionOrder.Add(p.ImgId);
            else duplicates.Add("prediction:" + p.ImgId);
        }

        var rows = new List<SceneGraphRecordScore>();
        var missingInPrediction = new List<string>();
        var seenTruth = new HashSet<string>(StringComparer.Ordinal);
        foreach (LaionSgRecord t in truth)
        {
            if (!seenTruth.Add(t.ImgId))
            {
                duplicates.Add("truth:" + t.ImgId);
                continue;
            }
            if (!predictions.TryGetValue(t.ImgId, out LaionSgRecord? p))
            {
                missingInPrediction.Add(t.ImgId);
                continue;
            }
            SceneGraphScores s = SceneGraphIou.Score(t.ToSceneGraph(), p.ToSceneGraph());
            rows.Add(new SceneGraphRecordScore(t.ImgId, s.SgIou, s.EntityIou, s.RelationIou));
        }

        return new SceneGraphEvaluationResult(
            seenTruth.Count,
            predictions.Count,
            rows.Count,
            MeanOf(rows, rows.Count),
            MeanOf(rows, seenTruth.Count),
            rows,
            missingInPrediction,
            predictionOrder.Where(id => !seenTruth.Contains(id)).ToList(),
            duplicates);
    }

    /// <summary>
    /// Evaluates two LAION-SG files. Both are read with <paramref name="options"/>: by default the first bad record
    /// throws <see cref="LaionSgFormatException"/> naming file, record, img_id and field; with
    /// <see cref="LaionSgInvalidRecordPolicy.Skip"/> bad records are left out of both counts (run
    /// <see cref="LaionSgReader.Validate(string, LaionSgReadOptions?)"/> to list them).
    /// </summary>
    public static SceneGraphEvaluationResult Evaluate(string truthPath, string predictionPath, LaionSgReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(truthPath);
        ArgumentException.ThrowIfNullOrEmpty(predictionPath);
        // A second record with an img_id is invalid, as laion-sg validate says: scoring only the first would hide it.
        options = (options ?? new LaionSgReadOptions()) with { RejectDuplicateImgIds = true };
        return Evaluate(
            LaionSgReader.Read(truthPath, options).Where(r => r.Record is not null).Select(r => r.Record!),
            LaionSgReader.Read(predictionPath, options).Where(r => r.Record is not null).Select(r => r.Record!));
    }

    private static SceneGraphMeans? MeanOf(List<SceneGraphRecordScore> rows, int denominator)
    {
        if (denominator == 0) return null;
        double sg = 0, entity = 0, relation = 0;
        foreach (SceneGraphRecordScore row in rows)
        {
            sg += row.SgIou;
            entity += row.EntityIou;
            relation += row.RelationIou;
        }
        return new SceneGraphMeans(sg / denominator, entity / denominator, relation / denominator);
    }
}
