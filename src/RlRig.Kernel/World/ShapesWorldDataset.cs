using RlRig.Diffusion;
using RlRig.SceneGraphs;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.World;

/// <summary>
/// Endless training data for the Diffuser: freshly sampled and rendered scenes with their prompts, minus every scene of
/// the evaluation set (by <see cref="EvaluationSet.Key"/>, whatever the phrasing). All randomness comes from the trainer's
/// generator, so runs reproduce and resume exactly.
/// </summary>
public sealed class ShapesWorldDataset : IGroundedImageTextDataset
{
    readonly SceneSampler sampler;
    readonly HashSet<string> excluded;

    /// <param name="options">The world.</param>
    /// <param name="excluded">Scenes never to produce (the evaluation set).</param>
    public ShapesWorldDataset(WorldOptions options, IEnumerable<SceneGraph> excluded)
    {
        sampler = new SceneSampler(options);
        this.excluded = excluded.Select(EvaluationSet.Key).ToHashSet();
    }

    public WorldOptions Options => sampler.Options;

    /// <summary>Scenes drawn but skipped because they belong to the evaluation set.</summary>
    public long SkippedEvaluationScenes { get; private set; }

    /// <inheritdoc />
    public (Tensor Images, IReadOnlyList<string> Prompts) NextBatch(int batchSize, Generator generator)
    {
        var (images, prompts, _) = Draw(batchSize, generator, maxWords: 0);
        return (images, prompts);
    }

    /// <inheritdoc />
    public (Tensor Images, IReadOnlyList<string> Prompts, Tensor WordRegions) NextGroundedBatch(int batchSize, Generator generator, int maxWords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWords, 1);
        var (images, prompts, regions) = Draw(batchSize, generator, maxWords);
        return (images, prompts, regions!);
    }

    (Tensor Images, IReadOnlyList<string> Prompts, Tensor? WordRegions) Draw(int batchSize, Generator generator, int maxWords)
    {
        // One draw from the generator seeds this batch's scene sampler: reproducible, and resumable from the generator's state.
        using var seed = randint(int.MaxValue, [1], generator: generator);
        var random = new Random((int)seed.item<long>());
        var size = Options.CanvasSize;
        var pixels = new float[batchSize * size * size * 3];
        // Boxes, not pixels: a (B, L, S, S) array per batch would be megabytes of garbage every step.
        var boxes = maxWords > 0 ? new int[batchSize * maxWords * 4] : null;
        var prompts = new List<string>(batchSize);
        while (prompts.Count < batchSize)
        {
            var scene = sampler.Sample(random);
            if (excluded.Contains(EvaluationSet.Key(scene)))
            {
                SkippedEvaluationScenes++;
                continue;
            }
            ShapeRenderer.RenderHwc(scene, Options).CopyTo(pixels, prompts.Count * size * size * 3);
            var prompt = scene.ToPromptText();
            if (boxes is not null) MarkWordBoxes(scene, PromptTokenizer.Split(prompt), boxes.AsSpan(prompts.Count * maxWords * 4, maxWords * 4), size);
            prompts.Add(prompt);
        }
        using var scope = NewDisposeScope();
        var images = tensor(pixels, [batchSize, size, size, 3]).permute(0, 3, 1, 2).contiguous() * 2 - 1; // (B, 3, H, W) in [-1, 1]
        Tensor? wordRegions = null;
        if (boxes is not null)
        {
            var b = tensor(boxes, [batchSize, maxWords, 4]).unsqueeze(-1);                                  // (B, L, 4, 1) x0 y0 x1 y1
            var pixel = arange(size, dtype: int32);                                                          // (S)
            var columns = pixel.ge(b[.., .., 0]).logical_and(pixel.lt(b[.., .., 2]));                        // (B, L, S)
            var rows = pixel.ge(b[.., .., 1]).logical_and(pixel.lt(b[.., .., 3]));                           // (B, L, S)
            wordRegions = rows.unsqueeze(-1).logical_and(columns.unsqueeze(-2)).to(float32).MoveToOuterDisposeScope();  // (B, L, S, S)
        }
        return (images.MoveToOuterDisposeScope(), prompts, wordRegions);
    }

    /// <summary>
    /// Fills (L, 4) <paramref name="boxes"/> with the pixel box [x0, x1) x [y0, y1) of the object each word names (all 0
    /// for other words): every occurrence of an item's text ("large blue triangle") in <paramref name="words"/> marks its words.
    /// </summary>
    internal static void MarkWordBoxes(SceneGraph scene, IReadOnlyList<string> words, Span<int> boxes, int size)
    {
        var maxWords = boxes.Length / 4;
        foreach (var item in scene.Items)
        {
            var box = item.Box ?? throw new ArgumentException($"item {item.Id} (\"{item.Text}\") has no box: only rendered scenes can be grounded", nameof(scene));
            var phrase = PromptTokenizer.Split(item.Text);
            ReadOnlySpan<int> pixels =
            [
                Math.Clamp((int)Math.Floor(box.X), 0, size), Math.Clamp((int)Math.Floor(box.Y), 0, size),
                Math.Clamp((int)Math.Ceiling(box.X + box.Width), 0, size), Math.Clamp((int)Math.Ceiling(box.Y + box.Height), 0, size),
            ];
            for (var start = 0; start + phrase.Count <= Math.Min(words.Count, maxWords); start++)
            {
                if (!phrase.Select((w, k) => words[start + k] == w).All(match => match)) continue;
                for (var k = start; k < start + phrase.Count; k++) pixels.CopyTo(boxes.Slice(k * 4, 4));
            }
        }
    }
}
