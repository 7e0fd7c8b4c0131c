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
        var regions = maxWords > 0 ? new float[batchSize * maxWords * size * size] : null;
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
            if (regions is not null) MarkWordRegions(scene, PromptTokenizer.Split(prompt), regions.AsSpan(prompts.Count * maxWords * size * size, maxWords * size * size), size);
            prompts.Add(prompt);
        }
        using var scope = NewDisposeScope();
        var images = tensor(pixels, [batchSize, size, size, 3]).permute(0, 3, 1, 2).contiguous() * 2 - 1; // (B, 3, H, W) in [-1, 1]
        var wordRegions = regions is null ? null : tensor(regions, [batchSize, maxWords, size, size]).MoveToOuterDisposeScope();
        return (images.MoveToOuterDisposeScope(), prompts, wordRegions);
    }

    /// <summary>
    /// Fills (L, S, S) <paramref name="regions"/> with 1 inside the box of the object each word names: every occurrence
    /// of an item's text ("large blue triangle") in <paramref name="words"/> marks its words with that item's box.
    /// </summary>
    internal static void MarkWordRegions(SceneGraph scene, IReadOnlyList<string> words, Span<float> regions, int size)
    {
        var maxWords = regions.Length / (size * size);
        foreach (var item in scene.Items)
        {
            var box = item.Box ?? throw new ArgumentException($"item {item.Id} (\"{item.Text}\") has no box: only rendered scenes can be grounded", nameof(scene));
            var phrase = PromptTokenizer.Split(item.Text);
            var (x0, y0) = ((int)Math.Floor(box.X), (int)Math.Floor(box.Y));
            var (x1, y1) = ((int)Math.Ceiling(box.X + box.Width), (int)Math.Ceiling(box.Y + box.Height));
            (x0, y0, x1, y1) = (Math.Clamp(x0, 0, size), Math.Clamp(y0, 0, size), Math.Clamp(x1, 0, size), Math.Clamp(y1, 0, size));
            for (var start = 0; start + phrase.Count <= Math.Min(words.Count, maxWords); start++)
            {
                if (!phrase.Select((w, k) => words[start + k] == w).All(match => match)) continue;
                for (var k = start; k < start + phrase.Count; k++)
                    for (var y = y0; y < y1; y++)
                        regions.Slice((k * size + y) * size + x0, x1 - x0).Fill(1f);
            }
        }
    }
}
