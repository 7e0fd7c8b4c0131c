using System.Text.Json;
using RlRig.LaionSg;
using RlRig.Metrics;

namespace RlRig.Tests.Metrics;

public sealed class SceneGraphEvaluationTests
{
    private static LaionSgRecord Record(string id, string[] labels, params (int S, string P, int O)[] relations) => new(
        id, id + ".jpg", "caption", "6.5", "https://example.invalid/" + id,
        labels.Select((l, i) => new LaionSgItem(i, l, [])).ToArray(),
        relations.Select((r, t) => new LaionSgRelation(t, r.S, r.P, r.O)).ToArray());

    [Fact]
    public void Means_over_matched_records_and_with_missing_as_zero()
    {
        LaionSgRecord a = Record("A", ["cat", "mat"], (0, "on", 1));
        LaionSgRecord b = Record("B", ["tower", "bridge", "river"], (0, "attached to", 1), (1, "above", 2));
        LaionSgRecord c = Record("C", ["dog"]);
        LaionSgRecord bPredicted = Record("B", ["tower", "bridge", "river"], (0, "attached to", 1), (1, "below", 2));
        LaionSgRecord d = Record("D", ["bird"]);

        SceneGraphEvaluationResult result = SceneGraphEvaluation.Evaluate([a, b, c], [d, bPredicted, a]);

        // A is perfect: 1, 1, 1.
        // B: triples {(t, attached to, b), (b, above, r)} vs {(t, attached to, b), (b, below, r)}: 1 / 3;
        //    labels equal: 1; predicates {attached to, above} vs {attached to, below}: 1 / 3.
        Assert.Equal(["A", "B"], result.Records.Select(r => r.ImgId));
        Assert.Equal(1.0 / 3, result.Records[1].SgIou, 12);
        Assert.Equal(1, result.Records[1].EntityIou, 12);
        Assert.Equal(1.0 / 3, result.Records[1].RelationIou, 12);
        // Matched means: SG (1 + 1/3) / 2 = 2/3, Entity (1 + 1) / 2 = 1, Relation 2/3.
        Assert.Equal(2.0 / 3, result.Mean!.SgIou, 12);
        Assert.Equal(1, result.Mean.EntityIou, 12);
        Assert.Equal(2.0 / 3, result.Mean.RelationIou, 12);
        // C has no prediction and counts 0 over the 3 truths: SG (1 + 1/3 + 0) / 3 = 4/9, Entity 2/3, Relation 4/9.
        Assert.Equal(4.0 / 9, result.MeanMissingAsZero!.SgIou, 12);
        Assert.Equal(2.0 / 3, result.MeanMissingAsZero.EntityIou, 12);
        Assert.Equal(4.0 / 9, result.MeanMissingAsZero.RelationIou, 12);
        Assert.Equal(["C"], result.MissingInPrediction);
        Assert.Equal(["D"], result.MissingInTruth);
        Assert.Equal((3, 3, 2), (result.TruthRecords, result.PredictionRecords, result.Matched));
    }

    [Fact]
    public void Duplicates_count_once_and_are_listed()
    {
        LaionSgRecord a = Record("A", ["cat"]);
        SceneGraphEvaluationResult result = SceneGraphEvaluation.Evaluate([a, a], [a, a]);
        Assert.Equal(1, result.Matched);
        Assert.Equal(["prediction:A", "truth:A"], result.DuplicateImgIds);
    }

    [Fact]
    public void Nothing_matched_gives_null_means_that_serialise()
    {
        SceneGraphEvaluationResult result = SceneGraphEvaluation.Evaluate([], [Record("A", ["cat"])]);
        Assert.Null(result.Mean);
        Assert.Null(result.MeanMissingAsZero);
        Assert.Contains("\"Mean\":null", JsonSerializer.Serialize(result));
    }

    [Fact]
    public void Sample_files_match_the_hand_worked_scores()
    {
        SceneGraphEvaluationResult result = SceneGraphEvaluation.Evaluate(
            TestFiles.LaionSg("sample.json"), TestFiles.LaionSg("sample-pred.json"));
        Assert.Equal(14, result.Matched);
        Assert.Equal(["invented-0007"], result.MissingInPrediction);
        Assert.Equal(["invented-9999"], result.MissingInTruth);
        var byId = result.Records.ToDictionary(r => r.ImgId);

        // 0002 is copied unchanged: 1, 1, 1.
        Assert.Equal(new SceneGraphRecordScore("invented-0002", 1, 1, 1), byId["invented-0002"]);

        // 0001: (bridge, above, river) became (bridge, below, river): SG 1/3, Entity 1, Relation 1/3 (as record B above).
        Assert.Equal(1.0 / 3, byId["invented-0001"].SgIou, 12);
        Assert.Equal(1, byId["invented-0001"].EntityIou, 12);
        Assert.Equal(1.0 / 3, byId["invented-0001"].RelationIou, 12);

        // 0004: truth triples (car, in front of, shop), (dog, left of, car), (man, riding, bicycle), (bicycle, on, street),
        // (car, on, street), (shop, next to, street); the prediction swaps left -> right and man -> woman.
        // SG: 4 shared / (6 + 6 - 4) = 0.5.
        // Entity: {car, shop, dog, bicycle, man, street} vs the same with woman: 5 / 7.
        // Relation: {in front of, left of, riding, on, next to} vs {in front of, right of, riding, on, next to}: 4 / 6.
        Assert.Equal(0.5, byId["invented-0004"].SgIou, 12);
        Assert.Equal(5.0 / 7, byId["invented-0004"].EntityIou, 12);
        Assert.Equal(4.0 / 6, byId["invented-0004"].RelationIou, 12);

        // 0010: two boats, "boat left of boat" written from the other boat: label triples are unchanged -> 1, 1, 1.
        Assert.Equal(new SceneGraphRecordScore("invented-0010", 1, 1, 1), byId["invented-0010"]);
    }

    [Fact]
    public void A_bad_file_stops_with_the_file_and_record_named()
    {
        var ex = Assert.Throws<LaionSgFormatException>(() =>
            SceneGraphEvaluation.Evaluate(TestFiles.LaionSg("sample.json"), TestFiles.LaionSg("bad.json")));
        Assert.Contains("bad.json: record 1 (img_id \"bad-01\")", ex.Message);
    }
}
