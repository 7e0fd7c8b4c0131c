using RlRig.SceneGraphs;
using RlRig.World;
using static TorchSharp.torch;

namespace RlRig.Loop.Checkers;

/// <summary>
/// How training renders are damaged so that they look like the Diffuser's samples: per-object edge damage (edges
/// dilated or eroded by a fraction of a pixel, one faint edge row or column, a slightly wrong colour), then the world's
/// <see cref="Degradation"/> (noise, blur, colour jitter) at a random strength. Labels always come from the undamaged
/// geometry. All zero is a plain render.
/// </summary>
/// <remarks>
/// The edge damage stands in for the "ragged edges" degradation being added to <see cref="Degradation"/> on another
/// branch; when that lands, <see cref="EdgeProbability"/> can be set to 0 and its level used instead.
/// </remarks>
public sealed record CheckerAugmentation
{
    /// <summary>Fraction of images with no global degradation. Defaults to 0.2.</summary>
    public double CleanFraction { get; init; } = 0.2;
    /// <summary>Largest pixel noise standard deviation; each image draws uniformly up to it. Defaults to 0.1 (the judge report's "strong").</summary>
    public double MaxNoiseStd { get; init; } = 0.1;
    /// <summary>Largest blur sigma in pixels. Defaults to 1.2.</summary>
    public double MaxBlurSigma { get; init; } = 1.2;
    /// <summary>Largest colour jitter (gain change and offset). Defaults to 0.15.</summary>
    public double MaxColourJitter { get; init; } = 0.15;
    /// <summary>Probability that an object's edge is dilated or eroded. Defaults to 0.5.</summary>
    public double EdgeProbability { get; init; } = 0.5;
    /// <summary>Largest fraction of a one-pixel dilation or erosion blended into an object's coverage. Defaults to 0.6.</summary>
    public double MaxEdgeShift { get; init; } = 0.6;
    /// <summary>Probability that one outer row or column of an object is drawn faint (20-80 % of its coverage). Defaults to 0.3.</summary>
    public double FaintEdgeProbability { get; init; } = 0.3;
    /// <summary>Standard deviation of a per-object, per-channel colour offset ([0, 1] units). Defaults to 0.03.</summary>
    public double ObjectColourStd { get; init; } = 0.03;

    /// <summary>No damage at all: <see cref="CheckerTrainingData.Render"/> then equals <see cref="ShapeRenderer.RenderHwc"/>.</summary>
    public static CheckerAugmentation None { get; } = new()
    {
        CleanFraction = 1, MaxNoiseStd = 0, MaxBlurSigma = 0, MaxColourJitter = 0, EdgeProbability = 0, MaxEdgeShift = 0, FaintEdgeProbability = 0, ObjectColourStd = 0,
    };
}

/// <summary>
/// Endless training data for the Checker: freshly sampled scenes (<see cref="SceneSampler"/>), rendered with
/// <see cref="CheckerAugmentation"/>, and per-pixel labels from the world's ground truth (<see cref="CheckerLabels.Mask"/>).
/// Nothing here reads the judge. All randomness comes from the trainer's generator, so runs reproduce and resume exactly.
/// </summary>
public sealed class CheckerTrainingData(WorldOptions world, CheckerAugmentation? augmentation = null)
{
    readonly SceneSampler sampler = new(world);

    public WorldOptions World => sampler.Options;
    public CheckerAugmentation Augmentation { get; } = augmentation ?? new CheckerAugmentation();

    /// <summary>A batch: images (B, 3, S, S) in [0, 1] and labels (B, S, S) as int64. The caller owns both.</summary>
    public (Tensor Images, Tensor Labels) NextBatch(int batchSize, Generator generator)
    {
        // One draw from the generator seeds this batch: reproducible, and resumable from the generator's state.
        using var seed = randint(int.MaxValue, [1], generator: generator);
        var random = new Random((int)seed.item<long>());
        var size = World.CanvasSize;
        var pixels = new float[batchSize * size * size * 3];
        var labels = new long[batchSize * size * size];
        for (var b = 0; b < batchSize; b++)
        {
            var scene = sampler.Sample(random);
            Render(scene, World, Augmentation, random).CopyTo(pixels, b * size * size * 3);
            var mask = CheckerLabels.Mask(scene, World);
            for (var i = 0; i < mask.Length; i++) labels[b * size * size + i] = mask[i];
        }
        using var scope = NewDisposeScope();
        var images = tensor(pixels, [batchSize, size, size, 3]).permute(0, 3, 1, 2).contiguous();  // (B, 3, S, S)
        return (images.MoveToOuterDisposeScope(), tensor(labels, [batchSize, size, size]).MoveToOuterDisposeScope());
    }

    /// <summary>Renders a placed scene (HWC in [0, 1]) with the augmentation's damage.</summary>
    public static float[] Render(SceneGraph scene, WorldOptions world, CheckerAugmentation augmentation, Random random)
    {
        var size = world.CanvasSize;
        var pixels = new float[size * size * 3];
        var bg = world.Background;
        for (var i = 0; i < size * size; i++) (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (bg.R / 255f, bg.G / 255f, bg.B / 255f);
        foreach (var item in scene.Items)
        {
            var coverage = DamageEdges(ShapeRenderer.Coverage(item, world), item.Box!, size, augmentation, random);
            var colour = WorldObject.From(item).Colour;
            var rgb = new[] { colour.R / 255f, colour.G / 255f, colour.B / 255f };
            if (augmentation.ObjectColourStd > 0)
                for (var c = 0; c < 3; c++) rgb[c] = Math.Clamp(rgb[c] + (float)(augmentation.ObjectColourStd * Gaussian(random)), 0, 1);
            for (var i = 0; i < size * size; i++)
            {
                var a = coverage[i];
                if (a == 0) continue;
                for (var c = 0; c < 3; c++) pixels[3 * i + c] = pixels[3 * i + c] * (1 - a) + rgb[c] * a;
            }
        }
        if (random.NextDouble() < augmentation.CleanFraction) return pixels;
        var degradation = new Degradation(augmentation.MaxNoiseStd * random.NextDouble(), augmentation.MaxBlurSigma * random.NextDouble(),
            augmentation.MaxColourJitter * random.NextDouble());
        return degradation.Apply(pixels, size, random);
    }

    static float[] DamageEdges(float[] coverage, Box box, int size, CheckerAugmentation augmentation, Random random)
    {
        if (augmentation.EdgeProbability > 0 && random.NextDouble() < augmentation.EdgeProbability)
        {
            // Blend toward a one-pixel dilation (max over the 4-neighbourhood) or erosion (min): a fraction of a pixel more or less.
            var dilate = random.Next(2) == 0;
            var t = (float)(augmentation.MaxEdgeShift * random.NextDouble());
            var moved = new float[coverage.Length];
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var v = coverage[y * size + x];
                    foreach (var (dx, dy) in Neighbours)
                    {
                        var (nx, ny) = (x + dx, y + dy);
                        var n = nx < 0 || ny < 0 || nx >= size || ny >= size ? 0 : coverage[ny * size + nx];
                        v = dilate ? Math.Max(v, n) : Math.Min(v, n);
                    }
                    moved[y * size + x] = v;
                }
            for (var i = 0; i < coverage.Length; i++) coverage[i] += t * (moved[i] - coverage[i]);
        }
        if (augmentation.FaintEdgeProbability > 0 && random.NextDouble() < augmentation.FaintEdgeProbability)
        {
            // One outer row or column of the box drawn faint, as the Diffuser's soft edges often are.
            var (x0, y0) = (Math.Max(0, (int)Math.Floor(box.X)), Math.Max(0, (int)Math.Floor(box.Y)));
            var (x1, y1) = (Math.Min(size, (int)Math.Ceiling(box.Right)), Math.Min(size, (int)Math.Ceiling(box.Bottom)));
            var side = random.Next(4);
            var gain = (float)(0.2 + 0.6 * random.NextDouble());
            for (var k = 0; k < size; k++)
            {
                var (x, y) = side switch { 0 => (k, y0), 1 => (k, y1 - 1), 2 => (x0, k), _ => (x1 - 1, k) };
                if (x >= x0 && x < x1 && y >= y0 && y < y1) coverage[y * size + x] *= gain;
            }
        }
        return coverage;
    }

    static readonly (int, int)[] Neighbours = [(1, 0), (-1, 0), (0, 1), (0, -1)];

    static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
