using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>How often the judge reads a render correctly at one degradation strength.</summary>
/// <param name="Level">The degradation's name.</param>
/// <param name="Scenes">Scenes rendered and judged.</param>
/// <param name="ObjectRecall">Fraction of true objects found with the right shape, colour and size.</param>
/// <param name="ObjectPrecision">Fraction of judged objects that are true objects (shape, colour and size).</param>
/// <param name="RelationAgreement">Fraction of the prompts' relations the judge confirms (all hold by construction).</param>
/// <param name="SceneAccuracy">Fraction of scenes read perfectly: every object, every relation, nothing extra.</param>
public sealed record JudgeAccuracyResult(string Level, int Scenes, double ObjectRecall, double ObjectPrecision, double RelationAgreement, double SceneAccuracy);

/// <summary>
/// Measures the judge on renders of sampled scenes, where the truth is known exactly, clean and degraded. Every relation
/// of a sampled prompt holds in its render, so any relation the judge denies is a judge error.
/// </summary>
public static class JudgeAccuracy
{
    public static JudgeAccuracyResult Measure(ShapesJudge judge, int scenes, int seed, string level, Degradation degradation)
    {
        var sampler = new SceneSampler(judge.World);
        var random = new Random(seed);
        int objects = 0, found = 0, judged = 0, relations = 0, confirmed = 0, perfect = 0;
        for (var i = 0; i < scenes; i++)
        {
            var truth = sampler.Sample(random, relationCount: i % 3 + 1);
            var image = degradation.Apply(ShapeRenderer.RenderHwc(truth, judge.World), judge.World.CanvasSize, random);
            var read = judge.Parse(image);
            var score = PromptScore.Score(truth, read);
            objects += score.Objects;
            found += score.SizesCorrect;
            judged += read.Items.Count;
            relations += score.Relations;
            confirmed += score.RelationsCorrect;
            if (score.IsPerfect) perfect++;
        }
        return new JudgeAccuracyResult(level, scenes, found / (double)objects, judged == 0 ? 0 : found / (double)judged,
            confirmed / (double)relations, perfect / (double)scenes);
    }

    /// <summary>The judge's accuracy at every level of <see cref="Degradation.Levels"/>.</summary>
    public static IReadOnlyList<JudgeAccuracyResult> Report(ShapesJudge judge, int scenes, int seed) =>
        Degradation.Levels.Select(l => Measure(judge, scenes, seed, l.Name, l.Degradation)).ToList();
}
