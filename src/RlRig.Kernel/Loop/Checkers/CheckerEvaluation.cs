using RlRig.Diffusion;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RlRig.Loop.Checkers;

/// <summary>The Checker's accuracy against the ground truth of renders at one degradation strength.</summary>
/// <param name="ObjectRecall">True objects found with the right shape, colour and size.</param>
/// <param name="ObjectPrecision">Detected objects that are true objects (shape, colour and size).</param>
/// <param name="RelationAccuracy">The scenes' relations that hold between the detected boxes (all hold in the truth).</param>
/// <param name="SceneAccuracy">Scenes read perfectly: every object, every relation, nothing extra.</param>
/// <param name="MeanBoxError">Mean absolute error of a found object's box edges, in pixels.</param>
public sealed record CheckerAccuracyResult(string Level, int Scenes, double ObjectRecall, double ObjectPrecision, double RelationAccuracy,
    double SceneAccuracy, double MeanBoxError);

/// <summary>
/// How often the Checker and the judge agree on generated images, per prompt object (present with the right shape and
/// colour), per prompt relation (holds), and per image (perfect), each side read with the same
/// <see cref="Reflection.Compare"/>; with each side's own rate and Cohen's kappa (agreement beyond chance).
/// </summary>
public sealed record CheckerJudgeAgreement(
    int Images, int Objects, double ObjectAgreement, double ObjectKappa, double JudgeObjectsPresent, double CheckerObjectsPresent,
    int Relations, double RelationAgreement, double RelationKappa, double JudgeRelationsHold, double CheckerRelationsHold,
    double PerfectAgreement, double PerfectKappa, double JudgePerfect, double CheckerPerfect,
    IReadOnlyList<AgreementImage> Disagreements);

/// <summary>One image on which the Checker and the judge disagree somewhere.</summary>
public sealed record AgreementImage(int Index, string Prompt, string Judge, string Checker, bool JudgePerfect, bool CheckerPerfect);

/// <summary>The Checker's measurements: ground truth on renders, and agreement with the judge on Diffuser samples.</summary>
public static class CheckerEvaluation
{
    /// <summary>Accuracy at every level of <see cref="Degradation.Levels"/>, on <paramref name="scenes"/> fresh scenes drawn with <paramref name="seed"/>.</summary>
    public static IReadOnlyList<CheckerAccuracyResult> Report(ShapesChecker checker, int scenes, int seed) =>
        Degradation.Levels.Select(l => Measure(checker, scenes, seed, l.Name, l.Degradation)).ToList();

    /// <summary>Accuracy on renders of sampled scenes (a third each with 1, 2 and 3 relations), damaged by <paramref name="degradation"/>.</summary>
    public static CheckerAccuracyResult Measure(ShapesChecker checker, int scenes, int seed, string level, Degradation degradation)
    {
        var world = checker.World;
        var sampler = new SceneSampler(world);
        var random = new Random(seed);
        var truths = new List<SceneGraph>();
        var images = new List<float[]>();
        for (var i = 0; i < scenes; i++)
        {
            truths.Add(sampler.Sample(random, relationCount: i % 3 + 1));
            images.Add(degradation.Apply(ShapeRenderer.RenderHwc(truths[^1], world), world.CanvasSize, random));
        }
        var detected = DetectInBatches(checker, images);
        int objects = 0, found = 0, read = 0, relations = 0, holding = 0, perfect = 0, edges = 0;
        double boxError = 0;
        for (var i = 0; i < scenes; i++)
        {
            var graph = SpatialRelationExtractor.FromBoxes(detected[i]);
            var score = PromptScore.Score(truths[i], graph);
            objects += score.Objects;
            found += score.SizesCorrect;
            read += graph.Items.Count;
            relations += score.Relations;
            holding += score.RelationsCorrect;
            if (score.IsPerfect) perfect++;
            foreach (var t in truths[i].Items)
                if (graph.Items.FirstOrDefault(d => d.Text == t.Text) is { Box: { } b })
                {
                    var a = t.Box!;
                    boxError += Math.Abs(a.X - b.X) + Math.Abs(a.Y - b.Y) + Math.Abs(a.Right - b.Right) + Math.Abs(a.Bottom - b.Bottom);
                    edges += 4;
                }
        }
        return new CheckerAccuracyResult(level, scenes, found / (double)objects, read == 0 ? 0 : found / (double)read,
            holding / (double)relations, perfect / (double)scenes, edges == 0 ? double.NaN : boxError / edges);
    }

    /// <summary>
    /// Draws one image per prompt with a Diffuser and the world's sampler (<see cref="ShapesWorldDiffuser"/>: 20 steps,
    /// guidance 3, eta 1), as <see cref="DiffuserEvaluation"/> does, returning HWC buffers in [0, 1].
    /// </summary>
    public static IReadOnlyList<float[]> Generate(DiffusionPipeline pipeline, IReadOnlyList<SceneGraph> prompts, int seed, int batchSize = 50)
    {
        using var generator = new Generator((ulong)seed, CPU);
        using var result = pipeline.Generate(prompts.Select(p => p.ToPromptText()).ToList(), ShapesWorldDiffuser.SamplingSteps,
            ShapesWorldDiffuser.GuidanceScale, ShapesWorldDiffuser.Eta, generator, batchSize);
        using var unit = ((result.Images.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).contiguous();   // (N, H, W, 3) in [0, 1]
        var pixels = unit.data<float>().ToArray();
        var perImage = pixels.Length / prompts.Count;
        return Enumerable.Range(0, prompts.Count).Select(i => pixels[(i * perImage)..((i + 1) * perImage)]).ToList();
    }

    /// <summary>Reads every image with both the Checker and the judge and counts where their verdicts agree.</summary>
    public static CheckerJudgeAgreement Agreement(ShapesChecker checker, ShapesJudge judge, IReadOnlyList<SceneGraph> prompts, IReadOnlyList<float[]> images)
    {
        if (prompts.Count != images.Count) throw new ArgumentException($"{prompts.Count} prompts but {images.Count} images", nameof(images));
        var detected = DetectInBatches(checker, images);
        var objects = new List<(bool Judge, bool Checker)>();
        var relations = new List<(bool Judge, bool Checker)>();
        var perfect = new List<(bool Judge, bool Checker)>();
        var disagreements = new List<AgreementImage>();
        for (var i = 0; i < prompts.Count; i++)
        {
            var byJudge = Reflection.Compare(prompts[i], judge.Parse(images[i]).Items);
            var byChecker = Reflection.Compare(prompts[i], detected[i]);
            var disagree = false;
            foreach (var t in prompts[i].Items)
            {
                var pair = (Present(byJudge, t.Id), Present(byChecker, t.Id));
                objects.Add(pair);
                disagree |= pair.Item1 != pair.Item2;
            }
            foreach (var r in prompts[i].Relations)
            {
                var pair = (byJudge.Satisfied.Contains(r), byChecker.Satisfied.Contains(r));
                relations.Add(pair);
                disagree |= pair.Item1 != pair.Item2;
            }
            perfect.Add((byJudge.IsSatisfied, byChecker.IsSatisfied));
            disagree |= byJudge.IsSatisfied != byChecker.IsSatisfied;
            if (disagree)
                disagreements.Add(new AgreementImage(i, prompts[i].ToPromptText(), byJudge.Detected.ToPromptText(), byChecker.Detected.ToPromptText(),
                    byJudge.IsSatisfied, byChecker.IsSatisfied));
        }
        return new CheckerJudgeAgreement(prompts.Count,
            objects.Count, Agree(objects), Kappa(objects), Rate(objects, judgeSide: true), Rate(objects, judgeSide: false),
            relations.Count, Agree(relations), Kappa(relations), Rate(relations, judgeSide: true), Rate(relations, judgeSide: false),
            Agree(perfect), Kappa(perfect), Rate(perfect, judgeSide: true), Rate(perfect, judgeSide: false), disagreements);
    }

    // A target object is present when a detection of its shape is matched to it with the right colour.
    static bool Present(Reflection r, int targetId) =>
        r.DetectedFor(targetId) is not null && !r.WrongAttributes.Any(e => e.TargetId == targetId && e.Attribute == "colour");

    static double Agree(List<(bool Judge, bool Checker)> pairs) => pairs.Count == 0 ? double.NaN : pairs.Count(p => p.Judge == p.Checker) / (double)pairs.Count;

    static double Rate(List<(bool Judge, bool Checker)> pairs, bool judgeSide) =>
        pairs.Count == 0 ? double.NaN : pairs.Count(p => judgeSide ? p.Judge : p.Checker) / (double)pairs.Count;

    /// <summary>Cohen's kappa of two yes/no raters: (observed - chance agreement) / (1 - chance agreement).</summary>
    public static double Kappa(IReadOnlyList<(bool A, bool B)> pairs)
    {
        if (pairs.Count == 0) return double.NaN;
        var observed = pairs.Count(p => p.A == p.B) / (double)pairs.Count;
        var (a, b) = (pairs.Count(p => p.A) / (double)pairs.Count, pairs.Count(p => p.B) / (double)pairs.Count);
        var chance = a * b + (1 - a) * (1 - b);
        return chance >= 1 ? 1 : (observed - chance) / (1 - chance);
    }

    /// <summary>
    /// HWC images in [0, 1] side by side, <paramref name="columns"/> to a row, each enlarged <paramref name="scale"/> times
    /// (nearest neighbour) with a 2 px white gap: a figure to look at what the two readers disagree on. The caller disposes it.
    /// </summary>
    public static Image<Rgb24> ContactSheet(IReadOnlyList<float[]> images, int size, int scale = 4, int columns = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(images.Count, 1);
        var cell = size * scale + 2;
        var rows = (images.Count + columns - 1) / columns;
        var sheet = new Image<Rgb24>(Math.Min(columns, images.Count) * cell, rows * cell, new Rgb24(255, 255, 255));
        for (var n = 0; n < images.Count; n++)
            for (var y = 0; y < size * scale; y++)
                for (var x = 0; x < size * scale; x++)
                {
                    var p = 3 * ((y / scale) * size + x / scale);
                    byte B(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
                    sheet[n % columns * cell + x, n / columns * cell + y] = new Rgb24(B(images[n][p]), B(images[n][p + 1]), B(images[n][p + 2]));
                }
        return sheet;
    }

    static List<IReadOnlyList<SceneItem>> DetectInBatches(ShapesChecker checker, IReadOnlyList<float[]> images, int batchSize = 100)
    {
        var all = new List<IReadOnlyList<SceneItem>>(images.Count);
        for (var start = 0; start < images.Count; start += batchSize)
            all.AddRange(checker.Detect(images.Skip(start).Take(batchSize).ToList()));
        return all;
    }
}
