using RlRig.Metrics;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.World;

/// <summary>Thresholds of <see cref="ShapesJudge"/>, tuned on renders drawn with seed 1 (never on the evaluation set).</summary>
public sealed record JudgeOptions
{
    /// <summary>Least estimated coverage of a palette colour for a pixel to belong to an object. Defaults to 0.5, so an
    /// anti-aliased edge pixel counts when at least half covered, which keeps detected boxes within half a pixel.</summary>
    public double MinCoverage { get; init; } = 0.5;

    /// <summary>Largest distance (RGB, [0, 1] units) between a pixel and its colour-over-background mix. Defaults to 0.4.</summary>
    public double MaxResidual { get; init; } = 0.4;

    /// <summary>Smallest object, as a fraction of a small triangle's area; smaller blobs are noise. Defaults to 0.35.</summary>
    public double MinAreaFraction { get; init; } = 0.35;

    /// <summary>A blob whose top third holds less than this fraction of its bottom third's pixels is a triangle. Defaults to 0.65.</summary>
    public double TriangleTopToBottom { get; init; } = 0.65;

    /// <summary>A non-triangle filling at least this fraction of its box is a square, else a circle. Defaults to 0.84
    /// (a rendered circle fills about 0.79 of its box, a square 1.0; blur pulls squares down, hence not the midpoint).</summary>
    public double SquareFill { get; init; } = 0.84;
}

/// <summary>
/// The shapes world's evaluation instrument: an analytic parser from an image to a scene graph with boxes. Each pixel is
/// explained as a palette colour mixed with the background (after white-balancing on the border), same-colour pixels
/// form objects, shape comes from how the object fills its box and how its mass splits between top and bottom, size
/// from its box, and relations from the boxes by <see cref="SpatialRelationExtractor"/>. Its error rate under noise, blur
/// and colour jitter is measured by <see cref="JudgeAccuracy"/>.
/// </summary>
public sealed class ShapesJudge(WorldOptions world, JudgeOptions? options = null)
{
    readonly WorldOptions world = world.Validate();
    readonly JudgeOptions options = options ?? new JudgeOptions();

    public WorldOptions World => world;

    /// <summary>Parses an image of the world's canvas size.</summary>
    public SceneGraph Parse(Image<Rgb24> image)
    {
        if (image.Width != world.CanvasSize || image.Height != world.CanvasSize)
            throw new ArgumentException($"the judge reads {world.CanvasSize}x{world.CanvasSize} images; got {image.Width}x{image.Height}", nameof(image));
        return Parse(ShapeRenderer.ToHwc(image));
    }

    /// <summary>Parses an HWC buffer with values in [0, 1] (see <see cref="ShapeRenderer.RenderHwc"/>).</summary>
    public SceneGraph Parse(float[] hwc)
    {
        var size = world.CanvasSize;
        if (hwc.Length != size * size * 3) throw new ArgumentException($"expected {size}x{size}x3 values, got {hwc.Length}", nameof(hwc));
        var labels = LabelPixels(hwc, size);
        var minArea = options.MinAreaFraction * 0.5 * world.SmallSide * world.SmallSide;
        var items = new List<SceneItem>();
        foreach (var blob in Blobs(labels, size).Where(b => b.Pixels.Count >= minArea).OrderBy(b => b.Top).ThenBy(b => b.Left))
            items.Add(Describe(blob).ToItem(items.Count, blob.Box));
        return SpatialRelationExtractor.FromBoxes(items);
    }

    WorldObject Describe(Blob blob)
    {
        var (w, h) = ((int)blob.Box.Width, (int)blob.Box.Height);
        var third = Math.Max(1, h / 3);
        var top = blob.Pixels.Count(p => p.Y < blob.Top + third);
        var bottom = blob.Pixels.Count(p => p.Y >= blob.Top + h - third);
        var fill = blob.Pixels.Count / (double)(w * h);
        var shape = top < options.TriangleTopToBottom * bottom ? Shape.Triangle : fill >= options.SquareFill ? Shape.Square : Shape.Circle;
        var large = Math.Max(w, h) >= (world.SmallSide + world.LargeSide) / 2.0;
        return new WorldObject(shape, WorldVocabulary.Colours[blob.Colour], large);
    }

    // Per pixel: the index of the palette colour that explains it, or -1 for background or unexplained pixels.
    int[] LabelPixels(float[] hwc, int size)
    {
        var background = BorderMedian(hwc, size);
        var target = new[] { world.Background.R / 255.0, world.Background.G / 255.0, world.Background.B / 255.0 };
        var gain = Enumerable.Range(0, 3).Select(c => background[c] > 0.05 ? target[c] / background[c] : 1).ToArray();
        var palette = WorldVocabulary.Colours.Select(c => new[] { c.R / 255.0, c.G / 255.0, c.B / 255.0 }).ToArray();
        var labels = new int[size * size];
        Span<double> p = stackalloc double[3];
        for (var i = 0; i < labels.Length; i++)
        {
            for (var c = 0; c < 3; c++) p[c] = hwc[3 * i + c] * gain[c];
            var (best, bestResidual) = (-1, double.MaxValue);
            for (var k = 0; k < palette.Length; k++)
            {
                double dot = 0, norm = 0;
                for (var c = 0; c < 3; c++) { var d = palette[k][c] - target[c]; dot += (p[c] - target[c]) * d; norm += d * d; }
                var alpha = Math.Clamp(dot / norm, 0, 1);
                if (alpha < options.MinCoverage) continue;
                double residual = 0;
                for (var c = 0; c < 3; c++) { var e = p[c] - (target[c] + alpha * (palette[k][c] - target[c])); residual += e * e; }
                if (residual < bestResidual) (best, bestResidual) = (k, residual);
            }
            labels[i] = best >= 0 && Math.Sqrt(bestResidual) <= options.MaxResidual ? best : -1;
        }
        return labels;
    }

    static double[] BorderMedian(float[] hwc, int size)
    {
        var border = Enumerable.Range(0, size).SelectMany(i => new[] { (i, 0), (i, size - 1), (0, i), (size - 1, i) }).Distinct().ToList();
        return Enumerable.Range(0, 3).Select(c =>
        {
            var values = border.Select(b => (double)hwc[3 * (b.Item2 * size + b.Item1) + c]).Order().ToList();
            return values[values.Count / 2];
        }).ToArray();
    }

    sealed record Blob(int Colour, List<(int X, int Y)> Pixels)
    {
        public int Left => Pixels.Min(p => p.X);
        public int Top => Pixels.Min(p => p.Y);
        public Box Box => Box.FromCorners(Left, Top, Pixels.Max(p => p.X) + 1, Pixels.Max(p => p.Y) + 1);
    }

    // 8-connected components of equally labelled pixels.
    static IEnumerable<Blob> Blobs(int[] labels, int size)
    {
        var seen = new bool[labels.Length];
        var stack = new Stack<int>();
        for (var start = 0; start < labels.Length; start++)
        {
            if (labels[start] < 0 || seen[start]) continue;
            var blob = new Blob(labels[start], []);
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                var (x, y) = (i % size, i / size);
                blob.Pixels.Add((x, y));
                for (var dy = -1; dy <= 1; dy++)
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        var (nx, ny) = (x + dx, y + dy);
                        if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
                        var j = ny * size + nx;
                        if (!seen[j] && labels[j] == blob.Colour) { seen[j] = true; stack.Push(j); }
                    }
            }
            yield return blob;
        }
    }
}
