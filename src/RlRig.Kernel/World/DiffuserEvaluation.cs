using RlRig.Diffusion;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.World;

/// <summary>Quality figures of a group of generated images (all, or those of prompts with a given number of relations).</summary>
/// <param name="RelationAccuracy">Stated relations that hold, over all stated relations (a missing object fails its relations).</param>
/// <param name="PlacementAccuracy">Stated relations that hold, over those whose two objects were drawn: the figure to compare
/// with the chance level of random placement, which assumes the objects are there.</param>
public sealed record QualityFigures(int Images, double ObjectAccuracy, double SizeAccuracy, double RelationAccuracy, double PlacementAccuracy,
    double PerfectImages, double ExtraObjectsPerImage, double SgIou, double EntityIou, double RelationIou);

/// <summary>One generated image's verdict.</summary>
public sealed record ImageVerdict(string ImgId, int Seed, string Prompt, string Judged, PromptScore Score, SceneGraphScores Iou);

/// <summary>The Diffuser's quality on an evaluation set, as the judge measures it.</summary>
public sealed record DiffuserQualityReport(
    QualityFigures Overall,
    IReadOnlyDictionary<int, QualityFigures> ByRelationCount,
    double ChanceRelationAccuracy,
    IReadOnlyList<int> Seeds,
    int NumInferenceSteps,
    double GuidanceScale,
    double Eta,
    IReadOnlyList<ImageVerdict> Images);

/// <summary>
/// Generates an image for every evaluation prompt with each seed, reads each with the <see cref="ShapesJudge"/> and scores
/// it against its prompt (<see cref="PromptScore"/>) and with the LAION-SG metrics. For SG-IoU the judge plays the
/// VLM's part as LAION-SG's evaluation asks of it: it reports triples among the prompt's objects using the prompt's
/// predicates; an object's "label" here is its full text ("small red circle"), since the shape alone would make every
/// red and blue circle the same entity.
/// </summary>
public static class DiffuserEvaluation
{
    /// <summary>Scores every (prompt, seed) image. The sampler defaults are the world's (<see cref="ShapesWorldDiffuser"/>);
    /// with eta &gt; 0 an image also depends on <paramref name="batchSize"/>, since each batch draws its step noise in turn.
    /// <paramref name="onImage"/>, if given, sees every image (HWC in [0, 1]) with its verdict.</summary>
    public static DiffuserQualityReport Evaluate(DiffusionPipeline pipeline, IReadOnlyList<SceneGraph> prompts, IReadOnlyList<int> seeds,
        ShapesJudge judge, int numInferenceSteps = ShapesWorldDiffuser.SamplingSteps, double guidanceScale = ShapesWorldDiffuser.GuidanceScale,
        double eta = ShapesWorldDiffuser.Eta, int batchSize = 50, IProgress<int>? progress = null, Action<ImageVerdict, float[]>? onImage = null)
    {
        var verdicts = new List<ImageVerdict>();
        var texts = prompts.Select(p => p.ToPromptText()).ToList();
        foreach (var seed in seeds)
        {
            using var generator = new Generator((ulong)seed, CPU);
            using var result = pipeline.Generate(texts, numInferenceSteps, guidanceScale, eta, generator, batchSize);
            using var unit = ((result.Images.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).contiguous(); // (N, H, W, 3) in [0, 1]
            var pixels = unit.data<float>().ToArray();
            var perImage = pixels.Length / prompts.Count;
            for (var i = 0; i < prompts.Count; i++)
            {
                var hwc = pixels[(i * perImage)..((i + 1) * perImage)];
                var judged = judge.Parse(hwc);
                verdicts.Add(new ImageVerdict($"eval-{i:D4}", seed, texts[i], judged.ToPromptText(), PromptScore.Score(prompts[i], judged), Iou(prompts[i], judged)));
                onImage?.Invoke(verdicts[^1], hwc);
            }
            progress?.Report(verdicts.Count);
        }
        var byCount = verdicts.Select((v, i) => (v, prompts[i % prompts.Count].Relations.Count))
            .GroupBy(x => x.Count).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => Figures(g.Select(x => x.v).ToList()));
        return new DiffuserQualityReport(Figures(verdicts), byCount, EvaluationSet.ChanceRelationAccuracy(prompts, judge.World, seed: 7),
            seeds, numInferenceSteps, guidanceScale, eta, verdicts);
    }

    /// <summary>SG-IoU, Entity-IoU and Relation-IoU with item texts as labels, the judged triples limited to the prompt's objects and predicates.</summary>
    public static SceneGraphScores Iou(SceneGraph prompt, SceneGraph judged)
    {
        var labels = prompt.Items.Select(i => i.Text).ToHashSet();
        var predicates = prompt.Predicates().ToHashSet();
        var truth = prompt.Relations.Select(r => new LabelTriple(prompt.Item(r.SubjectId).Text, r.Predicate, prompt.Item(r.ObjectId).Text));
        var found = judged.Relations.Select(r => new LabelTriple(judged.Item(r.SubjectId).Text, r.Predicate, judged.Item(r.ObjectId).Text))
            .Where(t => labels.Contains(t.Subject) && labels.Contains(t.Object) && predicates.Contains(t.Predicate)).ToList();
        return new SceneGraphScores(
            SceneGraphIou.SgIou(truth, found),
            SceneGraphIou.EntityIou(labels, judged.Items.Select(i => i.Text)),
            SceneGraphIou.RelationIou(predicates, found.Select(t => t.Predicate)));
    }

    /// <summary>The figures of a group of verdicts.</summary>
    public static QualityFigures Figures(IReadOnlyList<ImageVerdict> v)
    {
        double Ratio(Func<PromptScore, int> part, Func<PromptScore, int> whole) => v.Sum(x => part(x.Score)) / (double)Math.Max(1, v.Sum(x => whole(x.Score)));
        return new QualityFigures(v.Count,
            Ratio(s => s.ObjectsCorrect, s => s.Objects), Ratio(s => s.SizesCorrect, s => s.Objects), Ratio(s => s.RelationsCorrect, s => s.Relations),
            Ratio(s => s.RelationsCorrect, s => s.RelationsWithObjects), v.Count(x => x.Score.IsPerfect) / (double)v.Count, v.Average(x => x.Score.ExtraObjects),
            v.Average(x => x.Iou.SgIou), v.Average(x => x.Iou.EntityIou), v.Average(x => x.Iou.RelationIou));
    }
}
