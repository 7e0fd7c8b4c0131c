using RlRig.Metrics;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.World;

/// <summary>Thresholds of <see cref="ShapesJudge"/>, tuned on renders drawn with seed 1 (never on the evaluation set); the
/// edge rules (<see cref="RobustEdges"/>) on renders of seeds 1 and 5 at every degradation level, and checked by eye
/// on Diffuser samples of validation prompts (never the evaluation set's).</summary>
public sealed record JudgeOptions
{
    /// <summary>Least estimated coverage of a palette colour for a pixel to belong to an object. Defaults to 0.5, so an
    /// anti-aliased edge pixel counts when at least half covered, which keeps detected boxes within half a pixel.</summary>
    public double MinCoverage { get; init; } = 0.5;

    /// <summary>Largest distance (RGB, [0, 1] units) between a pixel and its colour-over-background mix. Defaults to 0.4.</summary>
    public double MaxResidual { get; init; } = 0.4;

    /// <summary>Smallest object, as a fraction of a small triangle's area; smaller blobs are noise. Defaults to 0.35.</summary>
    public double MinAreaFraction { get; init; } = 0.35;

    /// <summary>Without <see cref="RobustEdges"/>: a blob whose top third holds less than this fraction of its bottom
    /// third's pixels is a triangle. Defaults to 0.65.</summary>
    public double TriangleTopToBottom { get; init; } = 0.65;

    /// <summary>A non-triangle filling at least this fraction of its box is a square, else a circle. Defaults to 0.84
    /// (a rendered circle fills about 0.79 of its box, a square 1.0; blur pulls squares down, hence not the midpoint).</summary>
    public double SquareFill { get; init; } = 0.84;

    /// <summary>Whether soft and ragged edges are read the way the eye reads them (the default): a faint outer row or
    /// column is trimmed from the box that gives size and relations (<see cref="FaintLineFraction"/>,
    /// <see cref="FaintLineCoverage"/>), and a triangle is told by the skewness of its coverage-weighted mass from top to
    /// bottom (<see cref="TriangleSkewness"/>) rather than by comparing the box's top and bottom thirds, which one faint
    /// row at the top could tip. Square against circle is read as before. False gives the judge as it was before
    /// (issue 13), kept so that figures can be compared (<see cref="Legacy"/>).</summary>
    public bool RobustEdges { get; init; } = true;

    /// <summary>With <see cref="RobustEdges"/>: an outermost row (column) of a blob whose summed coverage is below this
    /// fraction of the blob's fullest row (column), and whose pixels' mean coverage is below
    /// <see cref="FaintLineCoverage"/>, is a faint edge and is left out of the box, at most one line per side. Defaults to
    /// 0.15 (0.2 starts to trim blurred circles' top rows; tuned on renders of seeds 1 and 5).</summary>
    public double FaintLineFraction { get; init; } = 0.15;

    /// <summary>With <see cref="RobustEdges"/>: see <see cref="FaintLineFraction"/>. Defaults to 0.75 (a faint line's pixels
    /// that count at all are covered 0.5 to 0.7; the short end row of a drawn circle is solid).</summary>
    public double FaintLineCoverage { get; init; } = 0.75;

    /// <summary>With <see cref="RobustEdges"/>: a blob whose coverage-weighted skewness from top to bottom is below minus
    /// this is a triangle (a triangle's mass, widening downwards, has skewness about -0.57; a square's or circle's 0; a
    /// faint full row on top of a square about -0.05). Defaults to 0.2 (tuned on renders of seeds 1 and 5).</summary>
    public double TriangleSkewness { get; init; } = 0.2;

    /// <summary>The judge as it was before it read ragged edges (issue 13): for comparisons only.</summary>
    public static JudgeOptions Legacy { get; } = new() { RobustEdges = false };
}

/// <summary>
/// The shapes world's evaluation instrument: an analytic parser from an image to a scene graph with boxes. Each pixel is
/// explained as a palette colour mixed with the background (after white-balancing on the border), same-colour pixels
/// form objects, faint outer rows and columns (a soft or ragged edge) are trimmed from an object's box, shape comes from
/// how the object fills its box and how its coverage-weighted mass is skewed from top to bottom, size from its box, and
/// relations from the boxes by <see cref="SpatialRelationExtractor"/>. Its error rate under noise, blur, colour jitter and
/// ragged edges is measured by <see cref="JudgeAccuracy"/>; <see cref="JudgeOptions.Legacy"/> is the judge before it
/// read ragged edges.
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
        var (labels, coverage) = LabelPixels(hwc, size);
        var minArea = options.MinAreaFraction * 0.5 * world.SmallSide * world.SmallSide;
        var items = new List<SceneItem>();
        foreach (var blob in Blobs(labels, size).Where(b => b.Pixels.Count >= minArea).OrderBy(b => b.Top).ThenBy(b => b.Left))
        {
            if (!options.RobustEdges)
            {
                items.Add(Describe(blob).ToItem(items.Count, blob.Box));
                continue;
            }
            var (obj, box) = DescribeRobust(blob, coverage, size);
            items.Add(obj.ToItem(items.Count, box));
        }
        return SpatialRelationExtractor.FromBoxes(items);
    }

    // Shape and box from coverage-weighted pixels: faint outer lines are trimmed from the box (which gives size and
    // relations); a triangle is a blob whose mass is skewed towards its bottom; a square fills its whole box (as before:
    // squareness read on the trimmed box turned the Diffuser's rounder circles into squares).
    (WorldObject Object, Box Box) DescribeRobust(Blob blob, double[] coverage, int size)
    {
        var weight = blob.Pixels.Select(p => coverage[p.Y * size + p.X]).ToArray();
        var (x0, x1) = Trim(blob.Pixels.Select(p => p.X).ToArray(), weight);
        var (y0, y1) = Trim(blob.Pixels.Select(p => p.Y).ToArray(), weight);
        var (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
        double total = weight.Sum(), mean = 0, m2 = 0, m3 = 0;
        for (var i = 0; i < weight.Length; i++) mean += weight[i] * blob.Pixels[i].Y / total;
        for (var i = 0; i < weight.Length; i++)
        {
            var d = blob.Pixels[i].Y - mean;
            m2 += weight[i] * d * d / total;
            m3 += weight[i] * d * d * d / total;
        }
        var skewness = m2 > 0 ? m3 / Math.Pow(m2, 1.5) : 0;
        var fill = blob.Pixels.Count / blob.Box.Area;
        var shape = skewness < -options.TriangleSkewness ? Shape.Triangle : fill >= options.SquareFill ? Shape.Square : Shape.Circle;
        var large = Math.Max(w, h) >= (world.SmallSide + world.LargeSide) / 2.0;
        return (new WorldObject(shape, WorldVocabulary.Colours[blob.Colour], large), Box.FromCorners(x0, y0, x1 + 1, y1 + 1));
    }

    // The extent of a blob along one axis with a faint outermost line removed from either end (at most one per end): a
    // line whose summed coverage is below FaintLineFraction of the fullest line's and whose pixels are on average
    // covered less than FaintLineCoverage (the end of a drawn shape is short but solid; a faint line is pale).
    (int From, int To) Trim(int[] position, double[] weight)
    {
        var (from, to) = (position.Min(), position.Max());
        var sums = new double[to - from + 1];
        var counts = new int[to - from + 1];
        for (var i = 0; i < position.Length; i++) { sums[position[i] - from] += weight[i]; counts[position[i] - from]++; }
        var fullest = sums.Max();
        bool Faint(int k) => sums[k] < options.FaintLineFraction * fullest && sums[k] / counts[k] < options.FaintLineCoverage;
        var (a, b) = (from, to);
        if (b - a >= 2 && Faint(0)) a++;
        if (b - a >= 2 && Faint(sums.Length - 1)) b--;
        return (a, b);
    }

    // The judge before issue 13 (JudgeOptions.Legacy): shape from the box's fill and its top and bottom thirds, size from the box.
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

    // Per pixel: the index of the palette colour that explains it, or -1 for background or unexplained pixels, and the
    // estimated coverage of that colour.
    (int[] Labels, double[] Coverage) LabelPixels(float[] hwc, int size)
    {
        var background = BorderMedian(hwc, size);
        var target = new[] { world.Background.R / 255.0, world.Background.G / 255.0, world.Background.B / 255.0 };
        var gain = Enumerable.Range(0, 3).Select(c => background[c] > 0.05 ? target[c] / background[c] : 1).ToArray();
        var palette = WorldVocabulary.Colours.Select(c => new[] { c.R / 255.0, c.G / 255.0, c.B / 255.0 }).ToArray();
        var labels = new int[size * size];
        var coverage = new double[size * size];
        Span<double> p = stackalloc double[3];
        for (var i = 0; i < labels.Length; i++)
        {
            for (var c = 0; c < 3; c++) p[c] = hwc[3 * i + c] * gain[c];
            var (best, bestResidual, bestAlpha) = (-1, double.MaxValue, 0.0);
            for (var k = 0; k < palette.Length; k++)
            {
                double dot = 0, norm = 0;
                for (var c = 0; c < 3; c++) { var d = palette[k][c] - target[c]; dot += (p[c] - target[c]) * d; norm += d * d; }
                var alpha = Math.Clamp(dot / norm, 0, 1);
                if (alpha < options.MinCoverage) continue;
                double residual = 0;
                for (var c = 0; c < 3; c++) { var e = p[c] - (target[c] + alpha * (palette[k][c] - target[c])); residual += e * e; }
                if (residual < bestResidual) (best, bestResidual, bestAlpha) = (k, residual, alpha);
            }
            labels[i] = best >= 0 && Math.Sqrt(bestResidual) <= options.MaxResidual ? best : -1;
            coverage[i] = labels[i] >= 0 ? bestAlpha : 0;
        }
        return (labels, coverage);
    }

    /// <summary>The background of an HWC image in [0, 1]: the per-channel median of its border pixels.</summary>
    internal static double[] BorderMedian(float[] hwc, int size)
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
