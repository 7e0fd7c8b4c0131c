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
public sealed class ShapesWorldDataset : IImageTextDataset
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
        // One draw from the generator seeds this batch's scene sampler: reproducible, and resumable from the generator's state.
        using var seed = randint(int.MaxValue, [1], generator: generator);
        var random = new Random((int)seed.item<long>());
        var size = Options.CanvasSize;
        var pixels = new float[batchSize * size * size * 3];
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
            prompts.Add(scene.ToPromptText());
        }
        using var scope = NewDisposeScope();
        var images = tensor(pixels, [batchSize, size, size, 3]).permute(0, 3, 1, 2).contiguous() * 2 - 1; // (B, 3, H, W) in [-1, 1]
        return (images.MoveToOuterDisposeScope(), prompts);
    }
}
